/**
 * Reload bench: does a full-library hot swap stall requests?
 * Usage: node --import tsx bench/reload.bench.ts [--seconds 8] [--every 500] [--change pattern,description] [--baseline DIR] [--rounds 1] [--pin]
 *
 * Starts redis-server and a tiny backend, then for each row starts `bulwark start` (subprocess, REDIS_URL set, from this
 * tree or from --baseline DIR, another checkout to compare with) on free loopback ports and runs wrk against it:
 * steady state, and while this process pushes a changed full library every --every ms (each push makes Bulwark load,
 * self-test, compile and swap the whole library). Rows of the trees are interleaved in one run.
 * --change description: every signature's description changes (patterns as before: a re-push of the same library);
 * --change pattern: every regex signature's pattern changes (every signature recompiled, every literal automaton rebuilt).
 * Prints req/s, p50, p99, max, non-2xx (wrk's view), the instance's own event-loop delay (p99 and max, from its
 * /metrics) and its compile time per swap.
 * Numbers taken on a shared 2-core machine are noisy: compare rows of one run, not runs.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startRedis } from '../test/helpers/redis.ts';
// @ts-expect-error plain JS helper
import { startChild } from './lib.mjs';
import { RedisRuleStore } from '../src/store/redis-store.ts';
import { loadLibrary, usableLibrary } from '../src/store/compile.ts';
import { baseContent } from '../src/store/setup.ts';
import { contentOf, makeSnapshot } from '../src/store/snapshot.ts';
import { compileSignature } from '../src/inspect/signature.ts';
import type { SignatureSpec } from '../src/types.ts';

const opt = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(opt('seconds') ?? 8);
const every = Number(opt('every') ?? 500);
const rounds = Number(opt('rounds') ?? 1);
const changes = (opt('change') ?? 'pattern,description').split(',') as Array<'pattern' | 'description'>;
const trees = [...(opt('baseline') ? [{ label: 'baseline', dir: resolve(opt('baseline')!) }] : []), { label: 'this', dir: process.cwd() }];
const run = promisify(execFile);
// --pin: the measured instance on CPU 0; this process and all it starts (redis-server, the origin, wrk) on CPU 1.
const pin = process.argv.includes('--pin');
if (pin && spawnSync('taskset', ['-a', '-c', '-p', '1', String(process.pid)], { stdio: 'ignore' }).status !== 0) throw new Error('--pin needs taskset (util-linux) and 2 CPUs');

const redis = await startRedis();
// The origin runs in its own process: work in this one (pushing revisions, polling /readyz) must not delay responses.
const backend = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/) as { child: ChildProcess; port: number };
const origin = `http://127.0.0.1:${backend.port}`;
// Rate limits off: the bench sends thousands of requests from one address.
const cfgFile = join(mkdtempSync(join(tmpdir(), 'bulwark-bench-')), 'bulwark.yaml');
writeFileSync(cfgFile, 'rateLimit:\n  enabled: false\n');

interface Instance { url: string; adminUrl: string; stop(): Promise<void> }
/** `bulwark start` from a tree's sources (its own signatures/), like test/helpers/bulwark.ts spawnBulwark. */
async function start(dir: string): Promise<Instance> {
  const argv = ['--import', 'tsx', join(dir, 'src/cli/main.ts'), 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--upstream', origin, '--config', cfgFile];
  const [cmd, args] = pin ? ['taskset', ['-c', '0', process.execPath, ...argv]] : [process.execPath, argv];
  const proc = spawn(cmd, args, { cwd: dir, env: { ...process.env, REDIS_URL: redis.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', () => undefined);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('"bulwark listening"'));
    if (line) {
      const j = JSON.parse(line) as { proxy: string; admin: string };
      return {
        url: `http://127.0.0.1:${j.proxy.split(':').pop()}`,
        adminUrl: `http://127.0.0.1:${j.admin.split(':').pop()}`,
        stop: async () => { const gone = new Promise((r) => proc.once('exit', r)); proc.kill('SIGTERM'); await gone; },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`bulwark did not start in ${dir}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}
const liveDetail = async (adminUrl: string) => ((await fetch(`${adminUrl}/readyz`).then((r) => r.json())) as { checks: { rules: { detail: { version: number; compileMs: number } } } }).checks.rules.detail;

// The pusher: its own store connection. It writes each revision straight into the store (as `rules push` does after
// validating it; the validation is left out here so the pusher itself burns no CPU next to the measured instance).
const store = new RedisRuleStore({ target: { url: redis.url } });
await store.start();
const library = usableLibrary(loadLibrary('signatures'), console);
async function push(specs: SignatureSpec[]): Promise<number> {
  for (;;) {
    const base = await store.latestVersion();
    const latest = base ? await store.load(base) : null;
    const content = { ...(latest ? contentOf(latest) : baseContent(library, {})), signatures: specs };
    const version = base + 1;
    const snap = makeSnapshot(content, { version, author: 'bench', change: `bench revision ${rev}` });
    const r = await store.commit(snap, { version, at: snap.createdAt, author: 'bench', action: 'push', detail: snap.change }, base);
    if (r.ok) return version;
  }
}

/** Revision `rev` of the library: descriptions changed, or every regex pattern changed (same matches on the examples). */
function revision(rev: number, change: 'pattern' | 'description'): SignatureSpec[] {
  return library.map((s) => {
    if (change === 'description') return { ...s, description: `${s.description ?? ''} [rev ${rev}]` };
    if (s.operator !== 'rx' && s.operator !== 'rx_cs') return s;
    const v = { ...s, pattern: `(?:${String(s.pattern)})|zq${rev}x${s.id}` };
    try {
      compileSignature(v);
      return v;
    } catch {
      return { ...s, pattern: rev % 2 ? `(?:${String(s.pattern)})` : s.pattern }; // the added branch is refused (ReDoS check): group it instead
    }
  });
}

let rev = 0;
/**
 * The instance's event-loop delay since the previous scrape (prom-client's default metrics sample it every 10 ms and
 * reset at each scrape): `max` is the longest the loop could not run a ready callback, plus up to 10 ms of sampling.
 */
async function loopLag(adminUrl: string): Promise<{ p99: number; max: number }> {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => r.text());
  const read = (name: string) => Number(new RegExp(`^bulwark_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: read('p99'), max: read('max') };
}

async function wrk(label: string, inst: Instance): Promise<void> {
  await loopLag(inst.adminUrl); // resets the instance's histogram
  const url = `${inst.url}/search?q=hello+world&page=2&sort=asc&lang=en&ref=home`;
  const r = await run('wrk', ['-t1', '-c16', `-d${seconds}s`, '--latency', url], { maxBuffer: 1 << 20 });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const p50 = /50%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  const p99 = /99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  const max = /Latency\s+\S+\s+\S+\s+(\S+)/.exec(r.stdout)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0';
  const lag = await loopLag(inst.adminUrl);
  console.log(`${label.padEnd(40)} req/s ${rps?.padStart(8)}  p50 ${p50?.padStart(8)}  p99 ${p99?.padStart(8)}  max ${max?.padStart(8)}  non-2xx ${non2xx}  loop delay p99 ${lag.p99.toFixed(1)} ms max ${lag.max.toFixed(1)} ms`);
}

async function pushing(label: string, inst: Instance, change: 'pattern' | 'description'): Promise<void> {
  let stop = false;
  const swaps: string[] = [];
  // Revisions are made before the measured window (making one compiles every changed pattern here).
  const ready = Array.from({ length: Math.ceil((seconds * 1000) / every) + 2 }, () => revision(++rev, change));
  const pusher = (async () => {
    while (!stop) {
      const changed = ready.shift() ?? revision(++rev, change);
      const t0 = performance.now();
      const r = { version: await push(changed) };
      // Wait until the measured instance runs it, so every push is a swap inside the measured window.
      for (;;) {
        const d = await liveDetail(inst.adminUrl);
        if (d.version >= r.version) { swaps.push(`${(performance.now() - t0).toFixed(0)}/${d.compileMs}`); break; }
        if (stop) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      await new Promise((res) => setTimeout(res, every));
    }
  })();
  await wrk(label, inst);
  stop = true;
  await pusher;
  console.log(`${''.padEnd(6)}${swaps.length} swaps (push→live ms / instance compile ms): ${swaps.join(' ')}`);
}

console.log(`library: ${library.length} signatures; wrk -t1 -c16 ${seconds}s per row; pushes every ${every} ms after the previous is live; trees: ${trees.map((t) => `${t.label}=${t.dir}`).join(' ')}`);
for (let round = 0; round < rounds; round++) {
  for (const what of ['steady', ...changes] as const) {
    for (const tree of trees) {
      const inst = await start(tree.dir);
      // Warm-up (JIT, first plans, connections), not measured.
      await run('wrk', ['-t1', '-c16', '-d2s', `${inst.url}/search?q=warm`]);
      if (what === 'steady') await wrk(`${tree.label}: steady`, inst);
      else await pushing(`${tree.label}: during ${what} pushes`, inst, what);
      await inst.stop();
    }
  }
}

await store.close();
backend.child.kill();
await redis.stop();
