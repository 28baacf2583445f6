// TLS termination with certificates made by openssl at test time: SNI picks between two, X-Forwarded-Proto https reaches the backend, HSTS, redirect, SIGHUP reload.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, copyFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import t from 'tap';
import { request, Agent } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import { freePort } from '../helpers/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
function makeCert(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' });
  return { cert, key };
}
function peerCert(port: number, servername: string, opts: { maxVersion?: 'TLSv1.1' } = {}): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...opts }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.once('error', reject);
  });
}

const a = makeCert('a.test');
const b = makeCert('b.test');
const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
copyFileSync(a.cert, live.cert);
copyFileSync(a.key, live.key);

t.test('HTTPS listener: SNI chooses the certificate, TLS 1.1 refused, X-Forwarded-Proto https, HSTS, redirect, SIGHUP reload', async (t) => {
  const backend = await startBackend();
  const redirectPort = await freePort();
  const bw = await startTestBulwark({
    ...PROXY_ONLY,
    upstream: backend.origin,
    tls: { certs: [live, { ...b, servername: 'b.test' }], redirectFrom: `127.0.0.1:${redirectPort}`, hsts: { maxAge: 600, includeSubDomains: true } },
  });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  t.equal((await peerCert(bw.port, 'a.test')).subject.CN, 'a.test', 'default certificate');
  t.equal((await peerCert(bw.port, 'b.test')).subject.CN, 'b.test', 'SNI b.test → its certificate');
  t.equal((await peerCert(bw.port, 'other.test')).subject.CN, 'a.test', 'unknown name → default');
  await t.rejects(peerCert(bw.port, 'a.test', { maxVersion: 'TLSv1.1' }), 'TLS 1.1 is refused');

  const dispatcher = new Agent({ connect: { ca: [readFileSync(b.cert)], servername: 'b.test' } });
  t.teardown(() => dispatcher.close());
  const res = await request(`https://127.0.0.1:${bw.port}/over-tls?q=1`, { dispatcher, headers: { host: 'b.test', 'x-forwarded-proto': 'http' } });
  const echoed = (await res.body.json()) as { url: string; headers: Record<string, string> };
  t.equal(res.statusCode, 200, 'verified TLS with the b.test certificate');
  t.equal(echoed.url, '/over-tls?q=1');
  t.equal(echoed.headers['x-forwarded-proto'], 'https', 'backend told the request came over TLS (client value ignored)');
  t.match(echoed.headers.forwarded, /proto=https/);
  t.equal(res.headers['strict-transport-security'], 'max-age=600; includeSubDomains');

  const plain = await request(`http://127.0.0.1:${redirectPort}/login?next=/a`, { headers: { host: 'a.test:8080' } });
  await plain.body.dump();
  t.equal(plain.statusCode, 308);
  t.equal(plain.headers.location, `https://a.test:${bw.port}/login?next=/a`);

  // SIGHUP: swap the default certificate on disk; an open TLS connection keeps working, new handshakes get the new one.
  const keep = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 10_000 });
  t.teardown(() => keep.close());
  const r1 = await request(`https://127.0.0.1:${bw.port}/k1`, { dispatcher: keep });
  await r1.body.dump();
  copyFileSync(b.cert, live.cert);
  copyFileSync(b.key, live.key);
  process.emit('SIGHUP', 'SIGHUP');
  t.equal((await peerCert(bw.port, 'a.test')).subject.CN, 'b.test', 'after SIGHUP the default certificate is the new file');
  const r2 = await request(`https://127.0.0.1:${bw.port}/k2`, { dispatcher: keep });
  await r2.body.dump();
  t.equal(r2.statusCode, 200, 'the open connection was not dropped');
  t.ok(bw.logs.some((l) => l.msg === 'tls certificates reloaded'));
});

t.test('https upstream verified against upstreamCaFile; without the CA the backend is refused (502)', async (t) => {
  const { createServer: createHttps } = await import('node:https');
  const ipCert = join(dir, 'ip.crt');
  const ipKey = join(dir, 'ip.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ipKey, '-out', ipCert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const srv = createHttps({ cert: readFileSync(ipCert), key: readFileSync(ipKey) }, (req, res) => res.end(`secure ${req.url}`));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const ok = await startTestBulwark({ ...PROXY_ONLY, upstream: origin, proxy: { upstreamCaFile: ipCert } });
  const bad = await startTestBulwark({ ...PROXY_ONLY, upstream: origin });
  t.teardown(async () => {
    await ok.close();
    await bad.close();
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });
  const r1 = await request(`${ok.url}/s`);
  t.equal(r1.statusCode, 200);
  t.equal(await r1.body.text(), 'secure /s');
  const r2 = await request(`${bad.url}/s`);
  const body = await r2.body.text();
  t.equal(r2.statusCode, 502, 'self-signed upstream not trusted without the CA');
  t.notMatch(body, /127\.0\.0\.1|SELF_SIGNED/);
});
