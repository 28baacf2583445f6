// Small requests while large bodies are inspected, one interleaved run: how long a plain GET waits when other clients
// post ~1 MiB JSON documents without pause. Bulwark (block, full PL1 library) with its default inspection threads
// (bodies from `inspection.largeBodyThread` bytes, 16 KiB, in a thread of their own), with one thread for everything
// (`largeBodyThread: false`), and with inspection in the event loop (`thread: false`). Each round, for each target:
// first the GETs alone, then the same GETs while --flooders clients post documents back to back. Prints the GETs'
// latency (p50, p99, max, from this process: one keep-alive connection, one request after another) and how many
// documents per second were inspected and forwarded.
// Usage: node bench/head-of-line.bench.mjs [--rounds 3] [--duration 4] [--flooders 2]
import { Agent, request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonDoc } from './json-doc.mjs';
import { LOAD_CPU, median, opt, startBulwark, startChild } from './lib.mjs';

const args = process.argv.slice(2);
const rounds = Number(opt(args, 'rounds', '3'));
const duration = Number(opt(args, 'duration', '4'));
const flooders = Number(opt(args, 'flooders', '2'));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-hol-bench-'));
const children = [];

function send(agent, port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const GET_PATH = '/products?q=running+shoes&size=42&colour=blue&sort=price&page=2';
const GET_HEADERS = { Host: 'shop.example.com', Accept: 'text/html', 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) bench' };
const docs = Array.from({ length: 8 }, (_, k) => jsonDoc(k + 1, true));
const JSON_HEADERS = { Host: 'shop.example.com', 'Content-Type': 'application/json' };

/** GETs one after another for `duration` s, while `flood` clients post documents; latencies and documents/s. */
async function measure(port, flood) {
  let stop = false;
  let posted = 0;
  let bad = 0;
  const loops = Array.from({ length: flood }, async (_, c) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let k = c; !stop; k++) {
      const r = await send(agent, port, 'POST', '/api/import', JSON_HEADERS, docs[k % docs.length]);
      if (r.status === 200) posted++;
      else bad++;
    }
    agent.destroy();
  });
  if (flood > 0) await new Promise((r) => setTimeout(r, 300));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const lat = [];
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  while (performance.now() < end) {
    const r = await send(agent, port, 'GET', GET_PATH, GET_HEADERS);
    if (r.status !== 200) bad++;
    lat.push(r.ms);
  }
  const secs = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  return { lat, docsPerSec: posted / secs, bad };
}

try {
  const origin = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/, process.env, LOAD_CPU);
  children.push(origin.child);
  const config = (name, inspection) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ rateLimit: { enabled: false }, events: { file: false }, inspection: { bodyLimit: 4 * 1024 * 1024, ...inspection } }));
    return file;
  };
  const variants = {
    'two threads (default)': {},
    'one thread': { largeBodyThread: false },
    'event loop': { thread: false },
  };
  const targets = {};
  for (const [name, inspection] of Object.entries(variants)) {
    const b = await startBulwark(['--upstream', `http://127.0.0.1:${origin.port}`, '--mode', 'block', '--config', config(name.replace(/\W+/g, '-'), inspection)]);
    children.push(b.child);
    targets[name] = b.port;
    // Warm up: the JSON paths are cold code until a few documents went through.
    const agent = new Agent({ keepAlive: true });
    for (const d of docs.slice(0, 4)) await send(agent, b.port, 'POST', '/api/import', JSON_HEADERS, d);
    const attack = await send(agent, b.port, 'GET', `/?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, GET_HEADERS);
    agent.destroy();
    if (attack.status !== 403) throw new Error(`${name}: a SQL injection got ${attack.status}, not 403`);
  }
  console.log(`${(docs[0].length / 1048576).toFixed(2)} MiB JSON documents, ${flooders} clients posting them back to back; a GET with 5 args, one after another for ${duration} s; ${rounds} rounds, interleaved`);
  const rows = Object.fromEntries(Object.keys(targets).map((n) => [n, { idle: [], busy: [], docs: [], bad: 0 }]));
  for (let r = 1; r <= rounds; r++) {
    for (const [name, port] of Object.entries(targets)) {
      const idle = await measure(port, 0);
      const busy = await measure(port, flooders);
      const row = rows[name];
      row.idle.push(...idle.lat);
      row.busy.push(...busy.lat);
      row.docs.push(busy.docsPerSec);
      row.bad += idle.bad + busy.bad;
      console.log(`  round ${r} ${name.padEnd(22)} GET alone p50 ${pct(idle.lat, 50).toFixed(2)} ms; with the documents p50 ${pct(busy.lat, 50).toFixed(2)} p99 ${pct(busy.lat, 99).toFixed(2)} ms, ${busy.docsPerSec.toFixed(1)} docs/s`);
    }
  }
  console.log('\nAll rounds (GET latency in ms; documents inspected and forwarded per second, median of rounds):');
  for (const [name, row] of Object.entries(rows)) {
    console.log(`  ${name.padEnd(22)} alone p50 ${pct(row.idle, 50).toFixed(2)} p99 ${pct(row.idle, 99).toFixed(2)} | with documents p50 ${pct(row.busy, 50).toFixed(2)} p99 ${pct(row.busy, 99).toFixed(2)} max ${Math.max(...row.busy).toFixed(1)} (${row.busy.length} GETs) | ${median(row.docs).toFixed(1)} docs/s${row.bad ? ` | ${row.bad} answers not 200` : ''}`);
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
}
