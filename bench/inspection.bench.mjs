// Cost of inspection through the proxy, one interleaved run: Bulwark --mode off vs --mode block (full PL1 library),
// with the clean-target memo off (every value evaluated on every request) and on (config default), on a GET with 5
// query args and on a 2 KB urlencoded form POST. Requests carry a browser's headers and cookies; the GET's `q`
// argument and the form's first field differ on every request (a counter in wrk's Lua script), so the memo only
// skips what a real browser would repeat. Rate limiting is off everywhere so only inspection differs. Every Bulwark
// row runs the default config (inspection in a thread of its own, `inspection.thread`) but the row "no thread", which
// inspects in the event loop.
// With nginx + ModSecurity 3 + OWASP CRS installed (see bench/modsec.mjs; skipped with --no-modsec), the same GET and
// POST also go through nginx (2 workers) + ModSecurity + CRS PL1 in the same interleaved rounds, next to Bulwark block
// memo on with --workers 2; then N sequential ~1 MiB JSON POSTs time each WAF on a large body.
// Every WAF is checked first: the bench's own GET and POST must get 200 and a SQL injection 403. Bulwark rows also
// report the server's own CPU time per request (Linux /proc), which moves less than req/s with how the 2 cores are
// shared between wrk, the origin and the server.
// The ~1 MiB JSON document has ~4.8k leaves (under Bulwark's 5000-argument limit, so both WAFs inspect all of it);
// --json-many adds one of ~60k short leaves, which Bulwark refuses (413, more arguments than it inspects) and on which
// ModSecurity spends about a minute per request.
// --compare DIR adds, in the same rounds, Bulwark block with the memo on from another checkout (DIR, with its own
// node_modules and signatures/; e.g. `git worktree add ../base HEAD~3 && ln -s "$PWD/node_modules" ../base/`), and
// prints this build / that build round by round: an A/B of two builds that shares the machine's changes of speed.
// Usage: node bench/inspection.bench.mjs [--rounds 3] [--duration 5] [--connections 50] [--json-reps 5] [--json-warmup 3] [--json-many] [--no-modsec] [--pin] [--compare DIR]
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtMain, interleave, LOAD_CPU, median, opt, pinning, requireWrk, roundRatios, startBulwark, startBulwarkWorkers, startChild } from './lib.mjs';
import { countLeaves, jsonDoc } from './json-doc.mjs';
import { startModsec } from './modsec.mjs';

const args = process.argv.slice(2);
requireWrk();
const rounds = Number(opt(args, 'rounds', '3'));
const duration = Number(opt(args, 'duration', '5'));
const connections = Number(opt(args, 'connections', '50'));
const jsonReps = Number(opt(args, 'json-reps', '5'));
// Documents sent before the timed ones: Bulwark's JSON paths are cold JIT code after GET and form traffic (in one run
// its first three 1 MiB documents took 158, 173 and 73 ms of inspection, the next ones 21-38 ms).
const jsonWarm = Math.max(1, Number(opt(args, 'json-warmup', '3')));
const jsonMany = args.includes('--json-many');
const compareDir = opt(args, 'compare', null);
// --pin: every server on CPU 0 (Bulwark's workers and nginx's too), wrk and the origin on CPU 1 (see bench/lib.mjs).
pinning(args.includes('--pin'));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-inspect-bench-'));
const children = [];
let modsec = null;
try {
  const origin = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/, process.env, LOAD_CPU);
  children.push(origin.child);
  const upstream = `http://127.0.0.1:${origin.port}`;
  const config = (memo, signatures, thread = true) => {
    const file = join(dir, `bench-memo-${memo}${signatures ? '-compare' : ''}${thread ? '' : '-no-thread'}.json`);
    // bodyLimit 4 MiB (default 1 MiB) so the ~1 MiB JSON documents are inspected whole; the GET and 2 KB POST do not notice.
    writeFileSync(file, JSON.stringify({ rateLimit: { enabled: false }, events: { file: false }, inspection: { memo, bodyLimit: 4 * 1024 * 1024, ...(signatures ? { signatures } : {}), ...(thread ? {} : { thread: false }) } }));
    return file;
  };
  const off = await startBulwark(['--upstream', upstream, '--mode', 'off', '--config', config(8192)]);
  children.push(off.child);
  const noMemo = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(0)]);
  children.push(noMemo.child);
  const memo = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(8192)]);
  children.push(memo.child);
  // The default inspects in a thread of its own (inspection.thread); this row inspects in the event loop.
  const inLoop = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(8192, undefined, false)]);
  children.push(inLoop.child);
  const other = compareDir === null ? null
    : await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(8192, resolve(compareDir, 'signatures'))], process.env, builtMain(resolve(compareDir)));
  if (other) children.push(other.child);
  if (!args.includes('--no-modsec')) modsec = await startModsec({ upstream });
  // nginx runs 2 workers, so Bulwark gets a 2-process row too (workers: N forks N cluster workers sharing the port).
  const workers2 = modsec ? await startBulwarkWorkers(2, ['--upstream', upstream, '--mode', 'block', '--config', config(8192)]) : null;
  if (workers2) children.push(workers2.child);
  const words = 'the quick brown fox jumps over the lazy dog while O\'Brien selects a union representative for the board meeting';
  const fields = [];
  for (let i = 0; fields.join('&').length < 2048; i++) fields.push(`field${i}=${encodeURIComponent(words.slice(0, 40 + (i % 60)))}`);
  const form = fields.join('&').slice(0, 2048).replace(/%[0-9A-F]?$/, '');
  // A browser names the site in Host (an IP address there is itself a warning-level signal, logged on every request).
  const browser = {
    Host: 'shop.example.com',
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language': 'en-US,en;q=0.5',
    'Accept-Encoding': 'gzip, deflate, br',
    Referer: 'https://shop.example.com/products',
    Cookie: 'sessionid=k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8; csrftoken=Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6',
  };
  const headerLua = Object.entries(browser).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n');
  const get = join(dir, 'get.lua');
  writeFileSync(get, `${headerLua}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/products/list?category=shoes&sort=price_asc&page=2&q=running+shoes+" .. i .. "&utm_source=newsletter")
end
`);
  const [first, rest] = [form.slice(0, form.indexOf('&')), form.slice(form.indexOf('&'))];
  const post = join(dir, 'post.lua');
  writeFileSync(post, `${headerLua}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/form", nil, ${JSON.stringify(first)} .. i .. ${JSON.stringify(rest)})
end
`);
  // Before measuring: every WAF passes the bench's own requests (no false positive) and blocks a SQL injection.
  const wafs = { 'Bulwark block, memo off': noMemo.port, 'Bulwark block, memo on': memo.port, 'Bulwark block, memo on, no thread': inLoop.port };
  if (workers2) wafs['Bulwark block, memo on, 2 workers'] = workers2.port;
  if (other) wafs[`Bulwark block, memo on, ${compareDir}`] = other.port;
  if (modsec) wafs['nginx + ModSecurity + CRS'] = modsec.port;
  const formHeaders = { ...browser, 'Content-Type': 'application/x-www-form-urlencoded' };
  for (const [name, port] of Object.entries(wafs)) {
    const checks = [
      ['the bench GET', 200, await send(port, 'GET', '/products/list?category=shoes&sort=price_asc&page=2&q=running+shoes+1&utm_source=newsletter', browser)],
      ['the bench POST', 200, await send(port, 'POST', '/form', formHeaders, `${first}1${rest}`)],
      ['a plain GET', 200, await send(port, 'GET', '/', browser)],
      ['a SQL injection', 403, await send(port, 'GET', `/?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, browser)],
    ];
    for (const [what, want, res] of checks) {
      if (res.status !== want) throw new Error(`${name} answered ${res.status} to ${what} (expected ${want}): it does not inspect as this bench assumes; not measuring`);
    }
  }
  console.log(`checked: ${Object.keys(wafs).join(', ')} pass the bench's GET and POST (200) and block a SQL injection (403)`);
  // The same servers for the GET, then for the POST (the 2-worker and ModSecurity rows only when ModSecurity runs).
  // With its pid, a Bulwark row also reports the server's CPU time per request (its workers' too).
  const servers = [['--mode off', `http://127.0.0.1:${off.port}/`, off.child.pid], ['block, memo off', `http://127.0.0.1:${noMemo.port}/`, noMemo.child.pid], ['block, memo on', `http://127.0.0.1:${memo.port}/`, memo.child.pid], ['block, memo on, no thread', `http://127.0.0.1:${inLoop.port}/`, inLoop.child.pid]];
  if (other) servers.push(['block, memo on, compared build', `http://127.0.0.1:${other.port}/`, other.child.pid]);
  if (modsec) servers.push(['block, memo on, 2 workers', `http://127.0.0.1:${workers2.port}/`, workers2.child.pid], ['nginx+ModSecurity+CRS', `${modsec.url}/`]);
  const targets = {};
  for (const [method, script] of [['GET ', get], ['POST', post]]) for (const [name, url, pid] of servers) targets[`${method} ${name}`] = { url, script, pid };
  const med = interleave(targets, { rounds, duration, connections, label: `GET 5 args and ${form.length + 4} B form POST, browser headers` });
  for (const m of ['GET ', 'POST']) {
    const base = med[`${m} --mode off`].rps;
    console.log(`${m} inspection on / off = ${(med[`${m} block, memo off`].rps / base).toFixed(2)}x (memo off), ${(med[`${m} block, memo on`].rps / base).toFixed(2)}x (memo on)`);
    const per = (k) => roundRatios(med, `${m} ${k}`, `${m} --mode off`);
    for (const k of ['block, memo off', 'block, memo on', 'block, memo on, no thread']) console.log(`${m} ${k} / off, round by round: ${per(k).ratios.map((x) => x.toFixed(2)).join(' ')} (median ${per(k).median.toFixed(2)}x)`);
    const cpu = (k) => med[`${m} ${k}`].cpu;
    console.log(`${m} Bulwark CPU per request: ${cpu('--mode off').toFixed(0)} µs with inspection off; inspection adds ${(cpu('block, memo off') - cpu('--mode off')).toFixed(0)} µs (memo off), ${(cpu('block, memo on') - cpu('--mode off')).toFixed(0)} µs (memo on), ${(cpu('block, memo on, no thread') - cpu('--mode off')).toFixed(0)} µs (memo on, no thread)`);
    if (other) {
      const ab = roundRatios(med, `${m} block, memo on`, `${m} block, memo on, compared build`);
      console.log(`${m} this build / ${compareDir} (block, memo on), req/s round by round: ${ab.ratios.map((x) => x.toFixed(2)).join(' ')} (median ${ab.median.toFixed(2)}x); CPU per request ${cpu('block, memo on').toFixed(0)} vs ${cpu('block, memo on, compared build').toFixed(0)} µs`);
    }
  }
  if (modsec) {
    console.log('\nBulwark block / nginx+ModSecurity+CRS PL1 (nginx: 2 worker processes), req/s; the issue asks >= 6x on the GET, >= 20x on the POST:');
    for (const m of ['GET ', 'POST']) {
      const ms = med[`${m} nginx+ModSecurity+CRS`].rps;
      const r = (k) => (med[`${m} ${k}`].rps / ms).toFixed(2);
      console.log(`${m} 1 process: memo off ${r('block, memo off')}x, memo on ${r('block, memo on')}x;  2 workers, memo on: ${r('block, memo on, 2 workers')}x`);
    }
    await jsonLatency({ 'Bulwark --mode off': off.port, 'Bulwark block, memo off': noMemo.port, 'Bulwark block, memo on': memo.port, 'Bulwark block, memo on, no thread': inLoop.port, 'nginx+ModSecurity+CRS': modsec.port }, browser);
    const errors = modsec.errors().split('\n').filter((l) => !l.includes('UNION%20SELECT')); // less the SQLi check's 403
    if (errors.some(Boolean)) console.log(`\nnginx error log (the SQL injection check left out):\n${errors.join('\n').slice(-2000)}`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await modsec?.stop();
}

/** One request on a fresh connection; resolves with the status, the body and the wall time in ms. */
function send(port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(body) }, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sequential POSTs of ~1 MiB JSON documents to every target, interleaved; prints the median wall time of each. */
async function jsonLatency(ports, browser) {
  // Bulwark reads at most 5000 arguments per request (src/inspect/request-view.ts, DEFAULT_VIEW_LIMITS.maxArgs); past
  // that it refuses the request (413) under bodyPolicy reject, the default. ModSecurity reads them all.
  const BULWARK_MAX_ARGS = 5000;
  const headers = { ...browser, 'Content-Type': 'application/json', Referer: 'https://shop.example.com/admin/import' };
  for (const long of jsonMany ? [false, true] : [true]) {
    const docs = Array.from({ length: jsonReps + jsonWarm }, (_, k) => jsonDoc(k + 1, long));
    const leaves = countLeaves(JSON.parse(docs[0]));
    const times = Object.fromEntries(Object.keys(ports).map((n) => [n, []]));
    const warm = Object.fromEntries(Object.keys(ports).map((n) => [n, []]));
    const rejected = {};
    for (let k = 0; k < docs.length; k++) {
      for (const [name, port] of Object.entries(ports)) {
        if (rejected[name]) continue;
        const res = await send(port, 'POST', '/api/import', headers, docs[k]);
        if (res.status !== 200 || !res.body.startsWith('hello from the origin')) rejected[name] = `rejected: HTTP ${res.status} ${res.body.replace(/\s+/g, ' ').slice(0, 80)}`;
        else (k >= jsonWarm ? times : warm)[name].push(res.ms);
      }
    }
    console.log(`\n${(docs[0].length / 1048576).toFixed(2)} MiB JSON, ${leaves} leaves (${long ? '~1.9 KB descriptions' : 'short strings and numbers'}), ${jsonReps} sequential POSTs each after ${jsonWarm} to warm up (a different document each time, new connection), wall ms:`);
    for (const name of Object.keys(ports)) {
      const ts = times[name];
      const note = name.startsWith('Bulwark block') && leaves > BULWARK_MAX_ARGS ? `  (more than ${BULWARK_MAX_ARGS} arguments)` : '';
      const cold = warm[name].length ? `; warm-up documents ${warm[name].map((x) => x.toFixed(0)).join(', ')} ms` : '';
      console.log(`  ${name.padEnd(26)} ${rejected[name] ?? `median ${median(ts).toFixed(1).padStart(7)} ms  (min ${Math.min(...ts).toFixed(1)}, max ${Math.max(...ts).toFixed(1)})${note}${cold}`}`);
    }
    const ms = 'nginx+ModSecurity+CRS';
    for (const b of ['Bulwark block, memo off', 'Bulwark block, memo on']) {
      if (!rejected[b] && !rejected[ms]) console.log(`  ModSecurity / ${b} = ${(median(times[ms]) / median(times[b])).toFixed(2)}x the time`);
    }
  }
}
