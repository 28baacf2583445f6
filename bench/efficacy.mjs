#!/usr/bin/env node
// Efficacy run (`npm run efficacy`): starts the shared test backend and Bulwark in front of it on free loopback
// ports, replays the attack and benign corpora through ../shared/efficacy/run.mjs, prints its tables, stops both.
//
//   npm run efficacy -- [--pl 1..4] [--threshold 5] [--corpus a.jsonl,b.jsonl] [--filter REGEX] [--misses N]
//                       [--concurrency 16] [--limit N] [--only-plain] [--out results.json] [--keep-logs] [--modsec]
//
// Default corpora: ../shared/efficacy/corpus/crs.jsonl, ../shared/efficacy/corpus/benign-dmoz.jsonl and every
// test/fixtures/benign/*.jsonl. The paranoia level reaches Bulwark through a generated config file (and the
// matching CLI flag / environment variable), so the run measures exactly the configuration it names. Rate limiting
// (and with it the attack ban) is switched off: all requests come from one client, and a ban would hide the signatures.
// --modsec: then the same corpora through nginx + ModSecurity 3 + OWASP CRS (bench/modsec.mjs) at the same paranoia
// level and threshold, in front of the same backend, and a side-by-side table (TPR, FPR, balanced accuracy) of both.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startModsec } from './modsec.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'efficacy');

function parseArgs(argv) {
  const o = { pl: '1', threshold: '5', concurrency: '16', misses: '10', corpus: '', passthrough: [] };
  const own = new Set(['pl', 'threshold', 'corpus', 'keepLogs', 'concurrency', 'misses', 'out']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (key === 'keepLogs' || key === 'modsec') { o[key] = true; continue; }
    if (key === 'onlyPlain' || key === 'quiet') { o.passthrough.push(a); continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value for ${a}`);
    if (own.has(key)) o[key] = v;
    else o.passthrough.push(a, v);
  }
  if (!/^[1-4]$/.test(o.pl)) throw new Error(`--pl must be 1..4, got ${o.pl}`);
  if (!/^\d+$/.test(o.threshold)) throw new Error(`--threshold must be a positive integer, got ${o.threshold}`);
  return o;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolve when a TCP connect to 127.0.0.1:port succeeds; reject after `ms` or when `child` exits first. */
function waitForPort(port, child, name, ms = 30000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    let done = false;
    const onExit = (code) => { if (!done) { done = true; reject(new Error(`${name} exited with code ${code} before listening on ${port}`)); } };
    child.once('exit', onExit);
    const attempt = () => {
      if (done) return;
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); done = true; child.off('exit', onExit); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) { done = true; child.off('exit', onExit); reject(new Error(`${name} did not listen on ${port} within ${ms} ms`)); }
        else setTimeout(attempt, 150);
      });
    };
    attempt();
  });
}

function defaultCorpora() {
  const list = [path.join(SHARED, 'corpus', 'crs.jsonl'), path.join(SHARED, 'corpus', 'benign-dmoz.jsonl')];
  const fixtures = path.join(ROOT, 'test', 'fixtures', 'benign');
  if (fs.existsSync(fixtures)) {
    for (const f of fs.readdirSync(fixtures).sort()) if (f.endsWith('.jsonl')) list.push(path.join(fixtures, f));
  }
  return list;
}

const children = [];
function stopAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGTERM'); } catch { /* already gone */ }
    }
  }
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopAll(); process.exit(130); });

/** Run the shared harness with these arguments; resolves to its exit code. */
async function runCorpora(args) {
  const runner = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(runner);
  return new Promise((resolve) => runner.once('exit', (c) => resolve(c ?? 1)));
}

/** TPR, FPR and balanced accuracy of two runs over the same corpora, per source and per source / category. */
function sideBySide(bulwark, modsec, pl) {
  const pct = (x) => (x === null || x === undefined ? '-' : (100 * x).toFixed(1));
  const rows = [];
  const add = (name, a, b) => rows.push([name, pct(a?.tpr), pct(b?.tpr), pct(a?.fpr), pct(b?.fpr), pct(a?.balanced_accuracy), pct(b?.balanced_accuracy)]);
  for (const k of Object.keys(bulwark.per_source)) add(k, bulwark.per_source[k], modsec.per_source[k]);
  add('ALL', bulwark.overall, modsec.overall);
  for (const k of Object.keys(bulwark.per_category)) add(k, bulwark.per_category[k], modsec.per_category[k]);
  const hdr = ['group', 'TPR% Bulwark', 'ModSec', 'FPR% Bulwark', 'ModSec', 'bal.acc% Bulwark', 'ModSec'];
  const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [`\n\n== Bulwark vs nginx + ModSecurity + OWASP CRS, both at PL${pl}, same corpora and backend (blocked = 403)`,
    fmt(hdr), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const corpora = opt.corpus ? opt.corpus.split(',') : defaultCorpora();
  for (const c of corpora) if (!fs.existsSync(c)) throw new Error(`corpus not found: ${c}`);

  const [backendPort, proxyPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-efficacy-'));
  const logOf = (name) => fs.openSync(path.join(work, `${name}.log`), 'w');

  // Config: the paranoia level and threshold under test, block mode, the backend as upstream.
  const configFile = path.join(work, 'bulwark.yaml');
  fs.writeFileSync(configFile, [
    `listen: 127.0.0.1:${proxyPort}`,
    `upstream: http://127.0.0.1:${backendPort}`,
    `admin:`,
    `  listen: 127.0.0.1:${adminPort}`,
    `mode: block`,
    `paranoia: ${opt.pl}`,
    `threshold: ${opt.threshold}`,
    `logging:`,
    `  level: warn`,
    // One client sends every corpus request: per-IP limits and the attack ban would turn the rest into 403s
    // and measure the ban instead of the signatures.
    `rateLimit:`,
    `  enabled: false`,
    '',
  ].join('\n'));

  const backend = spawn(process.execPath, [path.join(SHARED, 'backend.mjs'), '--port', String(backendPort)], {
    cwd: ROOT, stdio: ['ignore', logOf('backend'), logOf('backend.err')],
  });
  children.push(backend);
  await waitForPort(backendPort, backend, 'backend');

  const bulwark = spawn(process.execPath, [
    '--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'start',
    '--config', configFile,
    '--listen', `127.0.0.1:${proxyPort}`,
    '--upstream', `http://127.0.0.1:${backendPort}`,
    '--admin', `127.0.0.1:${adminPort}`,
    '--mode', 'block',
  ], {
    cwd: ROOT,
    env: { ...process.env, BULWARK_CONFIG: configFile, BULWARK_PARANOIA: opt.pl, BULWARK_THRESHOLD: opt.threshold, LOG_LEVEL: 'warn' },
    stdio: ['ignore', logOf('bulwark'), logOf('bulwark.err')],
  });
  children.push(bulwark);
  try {
    await waitForPort(proxyPort, bulwark, 'bulwark');
  } catch (err) {
    const tail = fs.readFileSync(path.join(work, 'bulwark.err.log'), 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${err.message}\n--- bulwark stderr (tail) ---\n${tail}`);
  }

  console.log(`efficacy: PL${opt.pl}, threshold ${opt.threshold}, Bulwark 127.0.0.1:${proxyPort} -> backend 127.0.0.1:${backendPort}`);
  console.log(`corpora: ${corpora.map((c) => path.relative(ROOT, c)).join(', ')}`);
  const args = [
    path.join(SHARED, 'run.mjs'), '--target', `http://127.0.0.1:${proxyPort}`,
    '--corpus', corpora.join(','), '--by', 'rule_pl', '--concurrency', opt.concurrency, '--misses', opt.misses,
    ...opt.passthrough,
  ];
  const bulwarkOut = opt.out ?? path.join(work, 'bulwark.json');
  let code = await runCorpora([...args, '--out', bulwarkOut]);

  if (opt.modsec && code === 0) {
    const modsec = await startModsec({ upstream: `http://127.0.0.1:${backendPort}`, paranoia: Number(opt.pl), threshold: Number(opt.threshold) });
    if (modsec) {
      console.log(`\n\nefficacy: nginx + ModSecurity + OWASP CRS, PL${opt.pl}, threshold ${opt.threshold}, ${modsec.url} -> backend 127.0.0.1:${backendPort}`);
      const modsecOut = opt.out ? opt.out.replace(/(\.json)?$/, '.modsec.json') : path.join(work, 'modsec.json');
      args[2] = modsec.url;
      try {
        code = await runCorpora([...args, '--out', modsecOut]);
      } finally {
        await modsec.stop();
      }
      if (code === 0) console.log(sideBySide(JSON.parse(fs.readFileSync(bulwarkOut, 'utf8')), JSON.parse(fs.readFileSync(modsecOut, 'utf8')), opt.pl));
    }
  }

  stopAll();
  if (opt.keepLogs) console.log(`logs kept in ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  return code;
}

main().then((code) => process.exit(code), (err) => { console.error(`efficacy: ${err.message}`); stopAll(); process.exit(1); });
