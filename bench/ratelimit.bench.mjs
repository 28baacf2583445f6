// Rate-limit cost, one interleaved run: Bulwark (--mode off) with no rate limiting (without Redis, and with the same
// Redis configured for the rule store, so only the rate limiter differs), with one Redis-backed policy, with five.
// Usage: node bench/ratelimit.bench.mjs [--rounds 3] [--duration 5] [--connections 50] [--redis redis://127.0.0.1:6379]
// Without --redis (or REDIS_URL) a private redis-server is started on a free port. Policies never trip (huge budgets),
// so every request pays the full check. Numbers are noisy on a shared machine.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { interleave, opt, requireWrk, startBulwark, startChild } from './lib.mjs';

const args = process.argv.slice(2);
requireWrk();
const rounds = Number(opt(args, 'rounds', '3'));
const duration = Number(opt(args, 'duration', '5'));
const connections = Number(opt(args, 'connections', '50'));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-rl-bench-'));
const children = [];

const freePort = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

try {
  let redisUrl = opt(args, 'redis', process.env.REDIS_URL);
  if (!redisUrl) {
    const port = await freePort();
    const r = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(r);
    await new Promise((res) => setTimeout(res, 300));
    redisUrl = `redis://127.0.0.1:${port}`;
  }
  const origin = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/);
  children.push(origin.child);
  const upstream = `http://127.0.0.1:${origin.port}`;
  const policy = (i) => ({ name: `p${i}`, pathPrefix: '/', key: 'ip', points: 1_000_000_000, durationSec: 60 });
  const configs = {
    'no rate limiting': { rateLimit: { enabled: false } },
    'no rl, Redis store': { redis: { url: redisUrl }, rateLimit: { enabled: false } },
    '1 policy (Redis)': { redis: { url: redisUrl }, rateLimit: { global: null, attackBan: null, policies: [policy(1)] } },
    '5 policies (Redis)': { redis: { url: redisUrl }, rateLimit: { global: null, attackBan: null, policies: [1, 2, 3, 4, 5].map(policy) } },
  };
  const targets = {};
  for (const [name, cfg] of Object.entries(configs)) {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    const bw = await startBulwark(['--upstream', upstream, '--mode', 'off', '--config', file]);
    children.push(bw.child);
    targets[name] = { url: `http://127.0.0.1:${bw.port}/bench?x=1` };
  }
  const med = interleave(targets, { rounds, duration, connections, label: 'GET' });
  const base = med['no rate limiting'].rps;
  const withRedis = med['no rl, Redis store'].rps;
  for (const name of Object.keys(configs)) {
    console.log(`${name.padEnd(24)} ${(med[name].rps / base).toFixed(2)}x of no rate limiting, ${(med[name].rps / withRedis).toFixed(2)}x of no rl with the Redis store`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
