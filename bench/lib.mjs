// Shared bench helpers: start a child process and wait for its port, run wrk and parse it, medians.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const built = new Map();

/**
 * Build a checkout's `dist/` (tsc, as `npm start` does through `prepare`) once per bench run and return its CLI entry:
 * the servers measured run the code users run, not the TypeScript loader's output (tsx adds a `__name` call for every
 * closure it creates, which cost the GET ~25% of its req/s with inspection on).
 */
export function builtMain(dir = ROOT) {
  if (!built.has(dir)) {
    const tsc = join(dir, 'node_modules', '.bin', 'tsc');
    const r = spawnSync(existsSync(tsc) ? tsc : 'npx', [...(existsSync(tsc) ? [] : ['tsc']), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed in ${dir}`);
    built.set(dir, join(dir, 'dist', 'cli', 'main.js'));
  }
  return built.get(dir);
}

/**
 * CPU pinning (`pinning(true)`, Linux with taskset and 2+ CPUs): the servers measured run on CPU 0 and the load (wrk,
 * the origin) on CPU 1, so a server's req/s is what one core gives it, not what is left over by wrk and the origin
 * sharing its cores. Off by default.
 */
const pin = { on: false };
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';
export function pinning(on) {
  if (on && spawnSync('taskset', ['-c', '0', 'true']).status !== 0) throw new Error('--pin needs taskset (util-linux) and a CPU 0');
  pin.on = on;
}
/** The command and arguments to run `cmd argv` on `cpu` when pinning is on (taskset execs it: the pid stays the same). */
export function onCpu(cpu, cmd, argv) {
  return pin.on ? ['taskset', ['-c', cpu, cmd, ...argv]] : [cmd, argv];
}

/** Spawn a process and resolve with its port once `readyRe` (one capture group) matches its stdout. */
export function startChild(cmd, argv, readyRe, env = process.env, cpu = SERVER_CPU) {
  const [c, a] = onCpu(cpu, cmd, argv);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c) => {
      out += c.toString();
      const m = readyRe.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', () => {});
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${out}`)));
  });
}

/** Start Bulwark, built, on free ports (`main`: another checkout's, from `builtMain(dir)`); resolves with its proxy port. */
export function startBulwark(extraArgs, env = process.env, main = builtMain()) {
  return startChild(process.execPath, [main, 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...extraArgs], /"proxy":"127\.0\.0\.1:(\d+)"/, env);
}

/** Start Bulwark in cluster mode (`--workers n`); resolves once every worker logged that it listens (they share the port). */
export function startBulwarkWorkers(n, extraArgs, env = process.env) {
  const ready = new RegExp(`"proxy":"127\\.0\\.0\\.1:(\\d+)"${'[\\s\\S]*?"proxy":"127\\.0\\.0\\.1:\\d+"'.repeat(n - 1)}`);
  return startChild(process.execPath, [builtMain(), 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', String(n), ...extraArgs], ready, env);
}

export function requireWrk() {
  if (spawnSync('wrk', ['-v']).error) {
    console.error('wrk is not installed (apt-get install -y wrk)');
    process.exit(1);
  }
}

/** Run wrk against a URL; returns req/s, p50/p99 in ms and the count of non-2xx/3xx answers. */
export function wrk(url, duration, connections, script) {
  const argv = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency'];
  if (script) argv.push('-s', script);
  const [cmd, a] = onCpu(LOAD_CPU, 'wrk', [...argv, url]);
  const r = spawnSync(cmd, a, { encoding: 'utf8' });
  if (r.error) throw r.error;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const lat = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0';
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  return { rps, p50: lat(50), p99: lat(99), errors: Number(errors), requests };
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system, µs) used so far by a process and its descendants still running (Linux /proc). */
export function cpuMicros(pid) {
  let ticks = 0;
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    try {
      // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14 and 15.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // gone, or /proc without children lists: count what could be read
    }
  };
  visit(pid);
  return (ticks * 1e6) / CLK_TCK;
}

export function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export function opt(args, name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
}

/**
 * A server's CPU per request, and how busy that made it: CPU seconds per second of wall time, as a share of one core
 * (over 100% for several workers). Well under 100% for one process means something else (wrk, the origin, the other
 * core's load) set the pace, and its req/s say less than its CPU per request.
 */
function cpuText(cpu, rps) {
  return Number.isNaN(cpu) ? '' : `  cpu ${cpu.toFixed(0)} µs/req, busy ${((cpu * rps) / 1e4).toFixed(0)}%`;
}

/**
 * Runs every target `rounds` times interleaved (every other round in reverse order) and prints per-round and median
 * lines; returns the medians.
 */
export function interleave(targets, { rounds, duration, connections, label }) {
  const w = Math.max(24, ...Object.keys(targets).map((k) => k.length));
  for (const t of Object.values(targets)) wrk(t.url, 1, connections, t.script); // warm-up
  const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  const forward = Object.entries(targets);
  const backward = [...forward].reverse();
  for (let r = 0; r < rounds; r++) {
    // Every other round in reverse order: a target measured before another in one round is measured after it in the
    // next, so a machine that speeds up or slows down over a round (this one's speed drifts by up to 2x within
    // minutes) does not favour the one that comes first in every round.
    for (const [name, t] of r % 2 === 0 ? forward : backward) {
      const before = t.pid ? cpuMicros(t.pid) : 0;
      const res = wrk(t.url, duration, connections, t.script);
      // The server's own CPU per request: what it costs, whatever share of the cores wrk and the origin left it.
      res.cpu = t.pid && res.requests > 0 ? (cpuMicros(t.pid) - before) / res.requests : NaN;
      results[name].push(res);
      const cpu = cpuText(res.cpu, res.rps);
      console.log(`round ${r + 1} ${name.padEnd(w)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms  non-2xx ${res.errors}${cpu}`);
    }
  }
  console.log(`\nmedian of ${rounds} interleaved rounds, wrk -t1 -c${connections} -d${duration}s, ${label}, ${new Date().toISOString()}`);
  const med = {};
  for (const [name, rs] of Object.entries(results)) {
    med[name] = { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)), cpu: median(rs.map((x) => x.cpu)) };
    const cpu = cpuText(med[name].cpu, med[name].rps);
    console.log(`${name.padEnd(w)} ${med[name].rps.toFixed(0).padStart(7)} req/s  p50 ${med[name].p50.toFixed(2)} ms  p99 ${med[name].p99.toFixed(2)} ms${cpu}`);
  }
  Object.defineProperty(med, 'rounds', { value: results }); // every round's result, by target (see roundRatios)
  return med;
}

/** Round by round, `a` req/s over `b` req/s (neighbours in time, so slow drifts of the machine cancel), and their median. */
export function roundRatios(med, a, b) {
  const ra = med.rounds[a];
  const rb = med.rounds[b];
  const ratios = ra.map((x, i) => x.rps / rb[i].rps);
  return { ratios, median: median(ratios) };
}
