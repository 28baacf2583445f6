// Backends benchmark, one interleaved run: Bulwark (mode block, rate limits off) to 1 vs 2 origins, cached vs uncached GET, TLS vs plain,
// response leak inspection on vs off (the same 880-byte text/plain page, scanned with the whole leak table).
// Usage: node bench/backends.bench.mjs [--rounds 3] [--duration 5] [--connections 50]
// Needs wrk and openssl on PATH; numbers are noisy on a shared 2-core machine (origins, Bulwarks and wrk share it).
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, opt, requireWrk, startBulwark, startChild } from './lib.mjs';

const args = process.argv.slice(2);
if (opt(args, 'role', 'main') === 'origin') {
  // Keep-alive origin; /cached is cacheable for 5 minutes, everything else is not.
  const body = Buffer.from('hello from the origin, a short page of text\n'.repeat(20));
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const h = { 'content-type': 'text/plain', 'content-length': body.length };
      if (req.url.startsWith('/cached')) h['cache-control'] = 'public, max-age=300';
      res.writeHead(200, h);
      res.end(body);
    });
  });
  s.keepAliveTimeout = 60_000;
  s.listen(0, '127.0.0.1', () => console.log(`READY ${s.address().port}`));
} else {
  requireWrk();
  const rounds = Number(opt(args, 'rounds', '3'));
  const duration = Number(opt(args, 'duration', '5'));
  const connections = Number(opt(args, 'connections', '50'));
  const SELF = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-backends-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const children = [];
  const origin = async () => {
    const o = await startChild(process.execPath, [SELF, '--role', 'origin'], /READY (\d+)/);
    children.push(o.child);
    return `http://127.0.0.1:${o.port}`;
  };
  const o1 = await origin();
  const o2 = await origin();
  const base = 'mode: block\nrateLimit: { enabled: false }\nlogging: { requests: false }\n';
  const configs = {
    'one backend': `sites: [{ name: a, hosts: ["*"], upstream: "${o1}" }]`,
    'two backends': `sites: [{ name: a, hosts: ["*"], upstreams: [{ url: "${o1}" }, { url: "${o2}" }] }]`,
    'leaks on': `sites: [{ name: a, hosts: ["*"], upstream: "${o1}", responseInspection: { action: block } }]`,
    'cache on': `sites: [{ name: a, hosts: ["*"], upstream: "${o1}", cache: { maxBytes: 10000000 } }]`,
    tls: `sites: [{ name: a, hosts: ["*"], upstream: "${o1}" }]\ntls: { certs: [{ cert: "${join(dir, 'c.pem')}", key: "${join(dir, 'k.pem')}" }] }`,
  };
  const ports = {};
  for (const [name, c] of Object.entries(configs)) {
    const file = join(dir, `${name.replace(/ /g, '-')}.yaml`);
    writeFileSync(file, base + c + '\n');
    const b = await startBulwark(['--config', file]);
    children.push(b.child);
    ports[name] = b.port;
  }
  try {
    interleave(
      {
        'plain, 1 backend': { url: `http://127.0.0.1:${ports['one backend']}/page?id=1` },
        'plain, 2 backends': { url: `http://127.0.0.1:${ports['two backends']}/page?id=1` },
        'response inspection on': { url: `http://127.0.0.1:${ports['leaks on']}/page?id=1` },
        'uncached GET': { url: `http://127.0.0.1:${ports['cache on']}/page?id=1` },
        'cached GET (HIT)': { url: `http://127.0.0.1:${ports['cache on']}/cached?id=1` },
        'TLS, 1 backend': { url: `https://127.0.0.1:${ports.tls}/page?id=1` },
      },
      { rounds, duration, connections, label: 'Bulwark mode block, rate limits off, origins in their own processes' },
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}
