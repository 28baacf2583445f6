// Proxy benchmark, one interleaved run: direct to an origin, through Bulwark (--mode off), through a bare Fastify + @fastify/http-proxy.
// Usage: node bench/proxy.bench.mjs [--rounds 3] [--duration 5] [--connections 50] [--with-request-logs]
//   --with-request-logs adds a fourth target: Bulwark with logging.requests: true (one pino line per request, to a pipe).
// Rate limiting is off in both Bulwark rows (its default, 1,200 requests a minute per client, would answer most of wrk's
// requests 429: the bench would time the limiter, not the proxy). Needs wrk on PATH; numbers are noisy on a shared machine.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { builtMain, median, startChild, wrk as wrkUrl } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const role = opt('role', 'main');
const SELF = fileURLToPath(import.meta.url);

if (role === 'origin') {
  // A tiny keep-alive origin, in its own process.
  const body = Buffer.from('hello from the origin\n');
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, server: 'origin' });
      res.end(body);
    });
  });
  s.keepAliveTimeout = 60_000;
  s.listen(Number(opt('port', '0')), '127.0.0.1', () => console.log(`READY ${s.address().port}`));
} else if (role === 'bare') {
  // The comparison point: Fastify + @fastify/http-proxy with default options, logging off.
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: opt('upstream') });
  await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`READY ${app.server.address().port}`);
} else {
  await main();
}

/** wrk against a local port (GET /bench?x=1). */
function wrk(port, duration, connections) {
  return wrkUrl(`http://127.0.0.1:${port}/bench?x=1`, duration, connections);
}

async function main() {
  if (spawnSync('wrk', ['-v']).error) {
    console.error('wrk is not installed (apt-get install -y wrk)');
    process.exit(1);
  }
  const rounds = Number(opt('rounds', '3'));
  const duration = Number(opt('duration', '5'));
  const connections = Number(opt('connections', '50'));
  const children = [];
  try {
    const origin = await startChild(process.execPath, [SELF, '--role', 'origin'], /READY (\d+)/);
    children.push(origin.child);
    const upstream = `http://127.0.0.1:${origin.port}`;
    const bare = await startChild(process.execPath, [SELF, '--role', 'bare', '--upstream', upstream], /READY (\d+)/);
    children.push(bare.child);
    const plain = join(tmpdir(), `bulwark-bench-${process.pid}.json`);
    writeFileSync(plain, JSON.stringify({ rateLimit: { enabled: false } }));
    const bw = await startChild(
      process.execPath,
      [builtMain(), 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--upstream', upstream, '--mode', 'off', '--config', plain],
      /"proxy":"127\.0\.0\.1:(\d+)"/,
    );
    children.push(bw.child);
    const targets = { direct: origin.port, bulwark: bw.port, 'fastify+http-proxy': bare.port };
    if (args.includes('--with-request-logs')) {
      const cfg = join(tmpdir(), `bulwark-bench-${process.pid}.yaml`);
      writeFileSync(cfg, 'logging: { requests: true }\nrateLimit: { enabled: false }\n');
      const logged = await startChild(
        process.execPath,
        [builtMain(), 'start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--upstream', upstream, '--mode', 'off', '--config', cfg],
        /"proxy":"127\.0\.0\.1:(\d+)"/,
      );
      children.push(logged.child);
      targets['bulwark+request-logs'] = logged.port;
    }
    for (const port of Object.values(targets)) wrk(port, 1, connections); // warm-up
    const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, port] of Object.entries(targets)) {
        const res = wrk(port, duration, connections);
        results[name].push(res);
        console.log(`round ${r + 1} ${name.padEnd(20)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms  non-2xx ${res.errors}`);
      }
    }
    console.log(`\nmedian of ${rounds} interleaved rounds, wrk -t1 -c${connections} -d${duration}s, GET, ${new Date().toISOString()}`);
    const med = {};
    for (const [name, rs] of Object.entries(results)) {
      med[name] = { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)) };
      console.log(`${name.padEnd(20)} ${med[name].rps.toFixed(0).padStart(7)} req/s  p50 ${med[name].p50.toFixed(2)} ms  p99 ${med[name].p99.toFixed(2)} ms`);
    }
    console.log(`bulwark / fastify+http-proxy = ${(med.bulwark.rps / med['fastify+http-proxy'].rps).toFixed(2)}x   bulwark / direct = ${(med.bulwark.rps / med.direct.rps).toFixed(2)}x`);
    if (med['bulwark+request-logs']) console.log(`bulwark with request logs / without = ${(med['bulwark+request-logs'].rps / med.bulwark.rps).toFixed(2)}x`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
