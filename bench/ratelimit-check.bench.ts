// The rate-limit check alone, in process, against a private redis-server: checks/s, Node CPU and Redis CPU per check,
// bytes sent to Redis per check, for 1 and 5 policies (never tripping), twice each, interleaved.
// Usage: node --import tsx bench/ratelimit-check.bench.ts [--checks 20000] [--concurrency 50]
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../test/helpers/ports.ts';
import { RateLimitService, DEFAULT_RATE_LIMIT } from '../src/ratelimit/service.ts';
import type { PolicyRequest } from '../src/ratelimit/policy-match.ts';

const arg = (name: string, def: number) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? Number(process.argv[i + 1]) : def; };
const N = arg('checks', 20000);
const concurrency = arg('concurrency', 50);
const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const c = new Redis(`redis://127.0.0.1:${port}`, { enableAutoPipelining: true, retryStrategy: (n) => (n > 50 ? null : 100) });
c.on('error', () => undefined);
try {
  await new Promise((r) => c.once('ready', r));
  const info = async (section: string, re: RegExp) => Number(re.exec(await c.info(section))![1]);
  const redisCpu = async () => (await info('cpu', /used_cpu_user:([\d.]+)/)) + (await info('cpu', /used_cpu_sys:([\d.]+)/));
  const req = (i: number): PolicyRequest => ({ site: 'default', path: '/x', method: 'GET', clientIp: `10.0.${i % 200}.1`, header: () => undefined, cookie: () => undefined });
  for (const n of [1, 5, 1, 5]) {
    const policies = Array.from({ length: n }, (_, i) => ({ name: `p${i}`, pathPrefix: '/', key: 'ip' as const, points: 1e9, durationSec: 60 }));
    const rl = new RateLimitService({ ...DEFAULT_RATE_LIMIT, global: null, attackBan: null, policies }, { redis: c });
    await rl.check(req(0), 'request');
    let done = 0;
    const bytes0 = await info('stats', /total_net_input_bytes:(\d+)/);
    const r0 = await redisCpu();
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async (_, w) => { while (done < N) { done++; await rl.check(req(done + w), 'request'); } }));
    const t1 = performance.now();
    const u1 = process.cpuUsage(u0);
    const r1 = await redisCpu();
    const bytes1 = await info('stats', /total_net_input_bytes:(\d+)/);
    console.log(`${n} polic${n === 1 ? 'y  ' : 'ies'}: ${(N / ((t1 - t0) / 1000)).toFixed(0).padStart(6)} checks/s  Node ${((u1.user + u1.system) / N).toFixed(1)} µs/check  Redis ${((r1 - r0) * 1e6 / N).toFixed(1)} µs/check  ${((bytes1 - bytes0) / N).toFixed(0)} bytes/check`);
  }
} finally {
  c.disconnect();
  server.kill();
}
