// Rate-limit cost, one interleaved run: Bulwark (--mode off) with no rate limiting (without Redis, and with the same
// Redis configured for the rule store, so only the rate limiter differs), with one Redis-backed policy, with five.
// Usage: node bench/ratelimit.bench.mjs [--rounds 3] [--duration 5] [--connections 50] [--redis redis://127.0.0.1:6379]
//        [--before DIR]   also runs 1 and 5 policies with the Bulwark source tree in DIR (e.g. `git archive OLD | tar -x -C DIR`
//                         plus a node_modules symlink), in the same interleaved rounds, to compare two versions.
// Without --redis (or REDIS_URL) a private redis-server is started on a free port. Policies never trip (huge budgets),
// so every request pays the full check. Besides req/s (noisy on a shared machine: other work takes the cores), it
// reports CPU time per request of the Bulwark process and of redis-server, read from /proc around each run: on a
// saturated machine req/s follows 1 / (CPU per request), and CPU time hardly depends on what else runs.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { median, opt, requireWrk, startBulwark, startChild, wrk } from './lib.mjs';

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
  let redisPid = null;
  if (!redisUrl) {
    const port = await freePort();
    const r = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(r);
    redisPid = r.pid;
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
  const before = opt(args, 'before', null);
  const starts = Object.entries(configs).map(([name, cfg]) => ({ name, cfg, src: null }));
  if (before) {
    starts.push({ name: '1 policy (before)', cfg: configs['1 policy (Redis)'], src: before });
    starts.push({ name: '5 policies (before)', cfg: configs['5 policies (Redis)'], src: before });
  }
  const targets = {};
  for (const { name, cfg, src } of starts) {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    const argv = ['--upstream', upstream, '--mode', 'off', '--config', file];
    const bw = src
      ? await startChild('bash', ['-c', 'cd "$0" && exec "$1" --import tsx src/cli/main.ts start --listen 127.0.0.1:0 --admin 127.0.0.1:0 "${@:2}"', src, process.execPath, ...argv], /"proxy":"127\.0\.0\.1:(\d+)"/)
      : await startBulwark(argv);
    children.push(bw.child);
    targets[name] = { url: `http://127.0.0.1:${bw.port}/bench?x=1`, pid: bw.child.pid };
  }
  // CPU seconds (user + system) a process has used so far.
  const cpu = (pid) => {
    if (!pid) return 0;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  for (const t of Object.values(targets)) wrk(t.url, 1, connections); // warm-up
  const runs = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, t] of Object.entries(targets)) {
      const b0 = cpu(t.pid);
      const r0 = cpu(redisPid);
      const res = wrk(t.url, duration, connections);
      const n = res.rps * duration;
      const run = { rps: res.rps, p99: res.p99, errors: res.errors, bwUs: ((cpu(t.pid) - b0) * 1e6) / n, redisUs: ((cpu(redisPid) - r0) * 1e6) / n };
      runs[name].push(run);
      console.log(`round ${r + 1} ${name.padEnd(22)} ${run.rps.toFixed(0).padStart(6)} req/s  p99 ${run.p99.toFixed(1)} ms  Bulwark ${run.bwUs.toFixed(0)} µs CPU/req  redis-server ${run.redisUs.toFixed(0)} µs/req  non-2xx ${run.errors}`);
    }
  }
  console.log(`\nmedians of ${rounds} interleaved rounds, wrk -t1 -c${connections} -d${duration}s, GET, ${new Date().toISOString()}`);
  const med = {};
  for (const [name, rs] of Object.entries(runs)) {
    med[name] = { rps: median(rs.map((x) => x.rps)), cpu: median(rs.map((x) => x.bwUs + x.redisUs)), bw: median(rs.map((x) => x.bwUs)), redis: median(rs.map((x) => x.redisUs)) };
  }
  const base = med['no rate limiting'];
  for (const [name, m] of Object.entries(med)) {
    console.log(`${name.padEnd(22)} ${m.rps.toFixed(0).padStart(6)} req/s (${(m.rps / base.rps).toFixed(2)}x)  CPU/req ${m.cpu.toFixed(0)} µs = Bulwark ${m.bw.toFixed(0)} + redis-server ${m.redis.toFixed(0)} (capacity ${(base.cpu / m.cpu).toFixed(2)}x of no rate limiting)`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
