/**
 * Reload bench: does a full-library hot swap stall requests? Usage: node --import tsx bench/reload.bench.ts [--seconds 8] [--every 500]
 * Starts redis-server, a tiny backend and `bulwark start` (subprocess, REDIS_URL set) on free loopback ports, then runs wrk
 * twice, interleaved: steady state, and while this process pushes a changed full library every --every ms (each push makes
 * Bulwark load, compile and self-test the whole library and swap it). Prints req/s, p50, p99, max and the swaps seen.
 * Numbers taken on a shared 2-core machine are noisy: compare the two rows of one run, not runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startRedis } from '../test/helpers/redis.ts';
import { spawnBulwark } from '../test/helpers/bulwark.ts';
import { RedisRuleStore } from '../src/store/redis-store.ts';
import { loadLibrary, compileSnapshot, usableLibrary } from '../src/store/compile.ts';
import { stopSelfTestWorker } from '../src/store/self-test.ts';
import { LiveRuleset } from '../src/store/live-ruleset.ts';
import { RuleService } from '../src/store/rule-service.ts';
import { baseContent } from '../src/store/setup.ts';
import { pushSignatures } from '../src/store/changes.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const seconds = arg('seconds', 8);
const every = arg('every', 500);
const run = promisify(execFile);

const redis = await startRedis();
const backend = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }); res.end('ok'); });
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
// Rate limits off: the bench sends thousands of requests from one address.
const cfgFile = join(mkdtempSync(join(tmpdir(), 'bulwark-bench-')), 'bulwark.yaml');
writeFileSync(cfgFile, 'rateLimit:\n  enabled: false\n');
const bulwark = await spawnBulwark(['--upstream', origin, '--config', cfgFile], { REDIS_URL: redis.url });
const liveVersion = async () => ((await fetch(`${bulwark.adminUrl}/readyz`).then((r) => r.json())) as { checks: { rules: { detail: { version: number; compileMs: number } } } }).checks.rules.detail;

// The pusher: its own store connection and a local holder (it validates each push before writing, like the admin API).
const store = new RedisRuleStore({ target: { url: redis.url } });
const library = usableLibrary(loadLibrary('signatures'), console);
const live = new LiveRuleset({ store, compile: compileSnapshot, base: baseContent(library, {}), log: pino({ level: 'warn' }) as never, pollMs: 0 });
await live.start();
const rules = new RuleService(store, live, compileSnapshot);

async function wrk(label: string): Promise<void> {
  const url = `${bulwark.url}/search?q=hello+world&page=2&sort=asc&lang=en&ref=home`;
  const r = await run('wrk', ['-t1', '-c16', `-d${seconds}s`, '--latency', url], { maxBuffer: 1 << 20 });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const p50 = /50%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  const p99 = /99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  const max = /Latency\s+\S+\s+\S+\s+(\S+)/.exec(r.stdout)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0';
  console.log(`${label.padEnd(26)} req/s ${rps}  p50 ${p50}  p99 ${p99}  max ${max}  non-2xx ${non2xx}`);
}

console.log(`library: ${library.length} signatures; wrk -c16 ${seconds}s per row; pushes every ${every} ms`);
await wrk('steady');
let pushes = 0;
let stop = false;
const swaps: string[] = [];
const pusher = (async () => {
  while (!stop) {
    // A real change to every signature's text (description) forces a whole-library self-test + compile on the instance.
    const changed = library.map((s) => ({ ...s, description: `${s.description ?? ''} [rev ${pushes}]` }));
    const t0 = performance.now();
    const r = await rules.apply((c) => pushSignatures(c, changed), 'bench');
    pushes++;
    // Wait until the measured instance runs it, so every push is a swap inside the measured window.
    for (;;) {
      const d = await liveVersion();
      if (d.version >= r.version) { swaps.push(`v${r.version} live after ${(performance.now() - t0).toFixed(0)} ms (instance compile ${d.compileMs} ms)`); break; }
      if (stop) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, every));
  }
})();
await wrk('during full-library pushes');
stop = true;
await pusher;
console.log(`pushes: ${pushes}; swaps seen inside the window:\n  ${swaps.join('\n  ')}`);
await wrk('steady again');

await live.close(); await store.close(); await stopSelfTestWorker();
await bulwark.stop('SIGTERM');
backend.close();
await redis.stop();
