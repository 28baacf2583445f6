// Shared bench helpers: start a child process and wait for its port, run wrk and parse it, medians.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN_TS = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** Spawn a process and resolve with its port once `readyRe` (one capture group) matches its stdout. */
export function startChild(cmd, argv, readyRe, env = process.env) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
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

/** Start Bulwark from source on free ports; resolves with its proxy port. */
export function startBulwark(extraArgs, env = process.env) {
  return startChild(process.execPath, ['--import', 'tsx', MAIN_TS, 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...extraArgs], /"proxy":"127\.0\.0\.1:(\d+)"/, env);
}

/** Start Bulwark in cluster mode (`--workers n`); resolves once every worker logged that it listens (they share the port). */
export function startBulwarkWorkers(n, extraArgs, env = process.env) {
  const ready = new RegExp(`"proxy":"127\\.0\\.0\\.1:(\\d+)"${'[\\s\\S]*?"proxy":"127\\.0\\.0\\.1:\\d+"'.repeat(n - 1)}`);
  return startChild(process.execPath, ['--import', 'tsx', MAIN_TS, 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', String(n), ...extraArgs], ready, env);
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
  const r = spawnSync('wrk', [...argv, url], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const lat = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0';
  return { rps, p50: lat(50), p99: lat(99), errors: Number(errors) };
}

export function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export function opt(args, name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
}

/** Runs every target `rounds` times interleaved and prints per-round and median lines; returns the medians. */
export function interleave(targets, { rounds, duration, connections, label }) {
  const w = Math.max(24, ...Object.keys(targets).map((k) => k.length));
  for (const t of Object.values(targets)) wrk(t.url, 1, connections, t.script); // warm-up
  const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, t] of Object.entries(targets)) {
      const res = wrk(t.url, duration, connections, t.script);
      results[name].push(res);
      console.log(`round ${r + 1} ${name.padEnd(w)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms  non-2xx ${res.errors}`);
    }
  }
  console.log(`\nmedian of ${rounds} interleaved rounds, wrk -t1 -c${connections} -d${duration}s, ${label}, ${new Date().toISOString()}`);
  const med = {};
  for (const [name, rs] of Object.entries(results)) {
    med[name] = { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)) };
    console.log(`${name.padEnd(w)} ${med[name].rps.toFixed(0).padStart(7)} req/s  p50 ${med[name].p50.toFixed(2)} ms  p99 ${med[name].p99.toFixed(2)} ms`);
  }
  return med;
}
