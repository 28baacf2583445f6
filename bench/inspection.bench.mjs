// Cost of inspection through the proxy, one interleaved run: Bulwark --mode off vs --mode block (full PL1 library),
// with the clean-target memo off (every value evaluated on every request) and on (config default), on a GET with 5
// query args and on a 2 KB urlencoded form POST. Requests carry a browser's headers and cookies; the GET's `q`
// argument and the form's first field differ on every request (a counter in wrk's Lua script), so the memo only
// skips what a real browser would repeat. Rate limiting is off everywhere so only inspection differs.
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
  const config = (memo) => {
    const file = join(dir, `bench-memo-${memo}.json`);
    writeFileSync(file, JSON.stringify({ rateLimit: { enabled: false }, events: { file: false }, inspection: { memo } }));
    return file;
  };
  const off = await startBulwark(['--upstream', upstream, '--mode', 'off', '--config', config(8192)]);
  children.push(off.child);
  const noMemo = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(0)]);
  children.push(noMemo.child);
  const memo = await startBulwark(['--upstream', upstream, '--mode', 'block', '--config', config(8192)]);
  children.push(memo.child);
  const words = 'the quick brown fox jumps over the lazy dog while O\'Brien selects a union representative for the board meeting';
  const fields = [];
  for (let i = 0; fields.join('&').length < 2048; i++) fields.push(`field${i}=${encodeURIComponent(words.slice(0, 40 + (i % 60)))}`);
  const form = fields.join('&').slice(0, 2048).replace(/%[0-9A-F]?$/, '');
  // A browser names the site in Host (an IP address there is itself a warning-level signal, logged on every request).
  const browser = {
    Host: 'shop.example.com',
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language': 'en-US,en;q=0.5',
    'Accept-Encoding': 'gzip, deflate, br',
    Referer: 'https://shop.example.com/products',
    Cookie: 'sessionid=k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8; csrftoken=Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6',
  };
  const headerLua = Object.entries(browser).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n');
  const get = join(dir, 'get.lua');
  writeFileSync(get, `${headerLua}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/products/list?category=shoes&sort=price_asc&page=2&q=running+shoes+" .. i .. "&utm_source=newsletter")
end
`);
  const [first, rest] = [form.slice(0, form.indexOf('&')), form.slice(form.indexOf('&'))];
  const post = join(dir, 'post.lua');
  writeFileSync(post, `${headerLua}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/form", nil, ${JSON.stringify(first)} .. i .. ${JSON.stringify(rest)})
end
`);
  const med = interleave({
    'GET  --mode off': { url: `http://127.0.0.1:${off.port}/`, script: get },
    'GET  block, memo off': { url: `http://127.0.0.1:${noMemo.port}/`, script: get },
    'GET  block, memo on': { url: `http://127.0.0.1:${memo.port}/`, script: get },
    'POST --mode off': { url: `http://127.0.0.1:${off.port}/`, script: post },
    'POST block, memo off': { url: `http://127.0.0.1:${noMemo.port}/`, script: post },
    'POST block, memo on': { url: `http://127.0.0.1:${memo.port}/`, script: post },
  }, { rounds, duration, connections, label: `GET 5 args and ${form.length + 4} B form POST, browser headers` });
  for (const m of ['GET ', 'POST']) {
    const base = med[`${m} --mode off`].rps;
    console.log(`${m} inspection on / off = ${(med[`${m} block, memo off`].rps / base).toFixed(2)}x (memo off), ${(med[`${m} block, memo on`].rps / base).toFixed(2)}x (memo on)`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
