// Rate-limit cost, one interleaved run: Bulwark (--mode off) with no rate limiting (without Redis, and with the same
// Redis configured for the rule store, so only the rate limiter differs), with one Redis-backed policy, with five.
// Usage: node bench/ratelimit.bench.mjs [--rounds 3] [--duration 5] [--connections 50] [--redis redis://127.0.0.1:6379]
//        [--before DIR]   also runs 1 and 5 policies with the Bulwark source tree in DIR (e.g. `git archive OLD | tar -x -C DIR`
//                         plus a node_modules symlink), in the same interleaved rounds, to compare two versions.
// Without --redis (or REDIS_URL) each Redis target gets its own private redis-server on a free port. Policies never trip (huge budgets),
// so every request pays the full check. Besides req/s (noisy on a shared machine: other work takes the cores), it
// reports CPU time per request of the Bulwark process and of its redis-server, read from /proc around each run (on a
// saturated machine req/s follows 1 / CPU per request; CPU time is inflated too when the machine is busy, so compare
// targets within a run), and how many Redis commands each request cost (EVAL/EVALSHA, and all including script calls).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { builtMain, median, opt, requireWrk, startBulwark, startChild, wrk } from './lib.mjs';

const args = process.argv.slice(2);
requireWrk();
const rounds = Number(opt(args, 'rounds', '3'));
const duration = Number(opt(args, 'duration', '5'));
const connections = Number(opt(args, 'connections', '50'));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-rl-bench-'));
const children = [];

const freePort = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

try {
  // Each target gets its own Redis: the policies are data in the rule store, so instances sharing one Redis would
  // all run the policy set of whichever seeded the store first. With --redis URL, targets use databases 1, 2, ...
  const external = opt(args, 'redis', process.env.REDIS_URL);
  let db = 0;
  const newRedis = async () => {
    if (external) return { url: `${external.replace(/\/\d*$/, '')}/${++db}`, pid: null };
    const port = await freePort();
    const r = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(r);
    await new Promise((res) => setTimeout(res, 300));
    return { url: `redis://127.0.0.1:${port}`, pid: r.pid };
  };
  const origin = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/);
  children.push(origin.child);
  const upstream = `http://127.0.0.1:${origin.port}`;
  const policy = (i) => ({ name: `p${i}`, pathPrefix: '/', key: 'ip', points: 1_000_000_000, durationSec: 60 });
  const configs = {
    'no rate limiting': { rateLimit: { enabled: false } },
    'no rl, Redis store': { redis: true, rateLimit: { enabled: false } },
    '1 policy (Redis)': { redis: true, rateLimit: { global: null, attackBan: null, policies: [policy(1)] } },
    '5 policies (Redis)': { redis: true, rateLimit: { global: null, attackBan: null, policies: [1, 2, 3, 4, 5].map(policy) } },
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
    const redis = cfg.redis ? await newRedis() : null;
    writeFileSync(file, JSON.stringify({ ...cfg, redis: redis ? { url: redis.url } : undefined }));
    const argv = ['--upstream', upstream, '--mode', 'off', '--config', file];
    const bw = src
      ? await startChild('bash', ['-c', 'cd "$0" && exec "$1" "$2" start --listen 127.0.0.1:0 --admin 127.0.0.1:0 "${@:3}"', src, process.execPath, builtMain(src), ...argv], /"proxy":"127\.0\.0\.1:(\d+)"/)
      : await startBulwark(argv);
    children.push(bw.child);
    targets[name] = { url: `http://127.0.0.1:${bw.port}/bench?x=1`, pid: bw.child.pid, redisPid: redis?.pid ?? null, redisUrl: redis?.url ?? null };
  }
  // CPU seconds (user + system) a process has used so far.
  const cpu = (pid) => {
    if (!pid) return 0;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  // Commands a Redis has executed so far: [EVAL/EVALSHA calls, all calls including those made inside scripts], INFO/CONFIG aside.
  const commands = async (url) => {
    if (!url) return [0, 0];
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    const info = await c.info('commandstats');
    c.disconnect();
    let scripts = 0;
    let all = 0;
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (m[1] === 'info' || m[1].startsWith('config') || m[1].startsWith('client')) continue;
      all += Number(m[2]);
      if (m[1] === 'eval' || m[1] === 'evalsha') scripts += Number(m[2]);
    }
    return [scripts, all];
  };
  for (const t of Object.values(targets)) wrk(t.url, 1, connections); // warm-up
  const runs = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, t] of Object.entries(targets)) {
      const c0 = await commands(t.redisUrl);
      const b0 = cpu(t.pid);
      const r0 = cpu(t.redisPid);
      const res = wrk(t.url, duration, connections);
      const b1 = cpu(t.pid);
      const r1 = cpu(t.redisPid);
      const n = res.rps * duration;
      const run = { rps: res.rps, p99: res.p99, errors: res.errors, bwUs: ((b1 - b0) * 1e6) / n, redisUs: ((r1 - r0) * 1e6) / n, cmds: 0, scripts: 0 };
      const c1 = await commands(t.redisUrl);
      run.scripts = (c1[0] - c0[0]) / n;
      run.cmds = (c1[1] - c0[1]) / n;
      runs[name].push(run);
      console.log(`round ${r + 1} ${name.padEnd(22)} ${run.rps.toFixed(0).padStart(6)} req/s  p99 ${run.p99.toFixed(1)} ms  Bulwark ${run.bwUs.toFixed(0)} µs CPU/req  redis-server ${run.redisUs.toFixed(0)} µs/req  Redis per req: ${run.scripts.toFixed(2)} EVALSHA, ${run.cmds.toFixed(2)} commands incl. inside scripts  non-2xx ${run.errors}`);
    }
  }
  console.log(`\nmedians of ${rounds} interleaved rounds, wrk -t1 -c${connections} -d${duration}s, GET, ${new Date().toISOString()}`);
  const med = {};
  for (const [name, rs] of Object.entries(runs)) {
    med[name] = { rps: median(rs.map((x) => x.rps)), cpu: median(rs.map((x) => x.bwUs + x.redisUs)), bw: median(rs.map((x) => x.bwUs)), redis: median(rs.map((x) => x.redisUs)), cmds: median(rs.map((x) => x.cmds)), scripts: median(rs.map((x) => x.scripts)) };
  }
  const base = med['no rate limiting'];
  for (const [name, m] of Object.entries(med)) {
    console.log(`${name.padEnd(22)} ${m.rps.toFixed(0).padStart(6)} req/s (${(m.rps / base.rps).toFixed(2)}x)  CPU/req ${m.cpu.toFixed(0)} µs = Bulwark ${m.bw.toFixed(0)} + redis-server ${m.redis.toFixed(0)} (capacity ${(base.cpu / m.cpu).toFixed(2)}x), Redis per req: ${m.scripts.toFixed(2)} EVALSHA, ${m.cmds.toFixed(2)} commands in all`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
