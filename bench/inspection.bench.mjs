// Cost of inspection through the proxy, one interleaved run: Bulwark --mode off vs --mode block (full PL1 library),
// on a GET with 5 query args and on a 2 KB urlencoded form POST. Rate limiting is off in both so only inspection differs.
// Usage: node bench/inspection.bench.mjs [--rounds 3] [--duration 5] [--connections 50]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleave, opt, requireWrk, startBulwark, startChild } from './lib.mjs';

const args = process.argv.slice(2);
requireWrk();
const rounds = Number(opt(args, 'rounds', '3'));
const duration = Number(opt(args, 'duration', '5'));
const connections = Number(opt(args, 'connections', '50'));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-inspect-bench-'));
const children = [];
try {
  const origin = await startChild(process.execPath, [join(import.meta.dirname, 'proxy.bench.mjs'), '--role', 'origin'], /READY (\d+)/);
  children.push(origin.child);
  const upstream = `http://127.0.0.1:${origin.port}`;
  const cfg = join(dir, 'bench.json');
  writeFileSync(cfg, JSON.stringify({ rateLimit: { enabled: false }, events: { file: false } }));
  const off = await startBulwark(['--upstream', upstream, '--mode', 'off', '--config', cfg]);
  children.push(off.child);
  const on = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', cfg]);
  children.push(on.child);
  const words = 'the quick brown fox jumps over the lazy dog while O\'Brien selects a union representative for the board meeting';
  const fields = [];
  for (let i = 0; fields.join('&').length < 2048; i++) fields.push(`field${i}=${encodeURIComponent(words.slice(0, 40 + (i % 60)))}`);
  const form = fields.join('&').slice(0, 2048).replace(/%[0-9A-F]?$/, '');
  const post = join(dir, 'post.lua');
  writeFileSync(post, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.body = ${JSON.stringify(form)}\n`);
  const get = '/products/list?category=shoes&sort=price_asc&page=2&q=running+shoes&utm_source=newsletter';
  const med = interleave({
    'GET  --mode off': { url: `http://127.0.0.1:${off.port}${get}` },
    'GET  --mode block': { url: `http://127.0.0.1:${on.port}${get}` },
    'POST --mode off': { url: `http://127.0.0.1:${off.port}/form`, script: post },
    'POST --mode block': { url: `http://127.0.0.1:${on.port}/form`, script: post },
  }, { rounds, duration, connections, label: `GET 5 args and ${form.length} B form POST` });
  console.log(`GET  inspection on / off = ${(med['GET  --mode block'].rps / med['GET  --mode off'].rps).toFixed(2)}x`);
  console.log(`POST inspection on / off = ${(med['POST --mode block'].rps / med['POST --mode off'].rps).toFixed(2)}x`);
} finally {
  for (const c of children) c.kill('SIGTERM');
}
