// Forwarding through a real Bulwark to a real counting backend: exact bytes, raw targets, forwarded headers, request ids, hop-by-hop.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import type { Backend } from '../helpers/backend.ts';
import { backendBehindBulwark, rawRequest, PROXY_ONLY, startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;
backendBehindBulwark(t, (b, p) => {
  backend = b;
  bw = p;
});

const last = () => backend.received[backend.received.length - 1];

t.test('binary body arrives byte for byte', async (t) => {
  const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
  const res = await request(`${bw.url}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  t.equal(res.statusCode, 200);
  await res.body.text();
  t.ok(last().body.equals(body), 'same bytes');
  t.equal(last().headers['content-length'], String(body.length));
});

t.test('multipart body and its Content-Type boundary arrive unchanged', async (t) => {
  const ct = 'multipart/form-data; boundary=----WebKitFormBoundaryX3y; charset=UTF-8';
  const body = Buffer.from(
    '------WebKitFormBoundaryX3y\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\xfe' +
      '\r\n------WebKitFormBoundaryX3y--\r\n',
    'latin1',
  );
  const res = await request(`${bw.url}/form`, { method: 'POST', body, headers: { 'content-type': ct } });
  await res.body.text();
  t.equal(res.statusCode, 200);
  t.equal(last().headers['content-type'], ct);
  t.ok(last().body.equals(body));
});

t.test('JSON body is forwarded as sent, not re-serialised', async (t) => {
  const body = '{ "a" : 1,\n  "a": "dup", "u": "\\u00e9" }';
  const res = await request(`${bw.url}/api`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
  await res.body.text();
  t.equal(last().body.toString(), body);
});

t.test('chunked request body is forwarded with a Content-Length', async (t) => {
  const raw = 'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const out = await rawRequest(bw.port, raw);
  t.match(out, /^HTTP\/1\.1 200/);
  t.equal(last().body.toString(), 'hello world');
  t.equal(last().headers['content-length'], '11');
  t.notOk(last().headers['transfer-encoding']);
});

t.test('a GET with a body is read and forwarded, never left on the socket', async (t) => {
  const res = await request(`${bw.url}/search`, { method: 'GET', body: 'q=1', headers: { 'content-length': '3' } });
  await res.body.text();
  t.equal(res.statusCode, 200);
  t.equal(last().body.toString(), 'q=1');
});

t.test('query strings and encoded paths arrive unchanged', async (t) => {
  const targets = [
    '/a%2Fb/%2e%2e/c%5Cd?x=%00&y=1&y=2&z=%E2%82%AC&e=',
    '/x/..%2f..%2fetc/passwd?%3Cscript%3E',
    '/p;jsessionid=1/%252e?a=b+c&&=',
    '//double//slash/?q=%ZZ',
  ];
  for (const target of targets) {
    const out = await rawRequest(bw.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.match(out, /^HTTP\/1\.1 200/, target);
    t.equal(last().url, target, `backend saw ${target}`);
  }
});

t.test('X-Forwarded-* and Forwarded from an untrusted client are replaced', async (t) => {
  const res = await request(`${bw.url}/h`, {
    headers: { host: 'shop.example', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6' },
  });
  await res.body.text();
  const h = last().headers;
  t.equal(h['x-forwarded-for'], '127.0.0.1');
  t.equal(h['x-forwarded-proto'], 'http');
  t.equal(h['x-forwarded-host'], 'shop.example');
  t.equal(h.forwarded, 'for=127.0.0.1;host=shop.example;proto=http');
  t.equal(h.host, 'shop.example', 'Host preserved by default');
  t.equal(h['x-real-ip'], '127.0.0.1');
});

t.test('client-IP headers of other proxies and CDNs are dropped from an untrusted client', async (t) => {
  const spoof = { 'x-real-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'cf-connecting-ip': '6.6.6.6', 'x-client-ip': '6.6.6.6', 'x-forwarded-port': '443', 'x-forwarded-prefix': '/evil' };
  const res = await request(`${bw.url}/h`, { headers: spoof });
  await res.body.text();
  const h = last().headers;
  t.equal(h['x-real-ip'], '127.0.0.1', 'X-Real-IP is ours');
  for (const name of Object.keys(spoof).slice(1)) t.notOk(h[name], `${name} dropped`);
});

t.test('from a trusted proxy, X-Forwarded-For and Forwarded are appended to', async (t) => {
  const trusted = await startTestBulwark({ ...PROXY_ONLY, upstream: backend.origin, trustedProxies: ['127.0.0.0/8'] });
  t.teardown(() => trusted.close());
  const res = await request(`${trusted.url}/h`, {
    headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', forwarded: 'for=203.0.113.9;proto=https' },
  });
  await res.body.text();
  const h = last().headers;
  t.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.equal(h['x-forwarded-proto'], 'https');
  t.equal(h.forwarded, 'for=203.0.113.9;proto=https, for=127.0.0.1;host=shop.example;proto=http');
  t.equal(h['x-real-ip'], '203.0.113.9', 'X-Real-IP is the client behind the trusted proxy');
});

t.test('request id: a valid one round-trips, an invalid or missing one is replaced', async (t) => {
  let res = await request(`${bw.url}/id`, { headers: { 'x-request-id': 'abc-123.XYZ' } });
  await res.body.text();
  t.equal(res.headers['x-request-id'], 'abc-123.XYZ');
  t.equal(last().headers['x-request-id'], 'abc-123.XYZ');

  res = await request(`${bw.url}/id`, { headers: { 'x-request-id': 'bad id <script>' } });
  await res.body.text();
  const generated = res.headers['x-request-id'] as string;
  t.match(generated, /^[0-9a-f-]{36}$/);
  t.equal(last().headers['x-request-id'], generated);

  res = await request(`${bw.url}/id`);
  await res.body.text();
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.equal(last().headers['x-request-id'], res.headers['x-request-id']);
});

t.test('hop-by-hop request headers and the ones named in Connection are not forwarded', async (t) => {
  const raw =
    'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=99\r\n' +
    'TE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Kept: yes\r\n\r\n';
  const out = await rawRequest(bw.port, raw);
  t.match(out, /^HTTP\/1\.1 200/);
  const h = last().headers;
  for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) t.notOk(h[name], `${name} dropped`);
  t.equal(h['x-kept'], 'yes');
});

t.test("backend's Server, X-Powered-By and Connection: close do not reach the client", async (t) => {
  backend.handle((_req, res) => {
    res.writeHead(200, { server: 'gunicorn', 'x-powered-by': 'Django', connection: 'close', 'x-runtime': '0.1', 'content-type': 'text/plain' });
    res.end('ok');
  });
  t.teardown(() => backend.handle(null));
  // Two requests on one client connection: the second must reuse it.
  const out = await rawRequest(bw.port, 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const responses = out.split(/(?=HTTP\/1\.1 )/);
  t.equal(responses.length, 2, 'both answered on the same connection');
  t.match(responses[0], /^HTTP\/1\.1 200/);
  t.notMatch(responses[0], /^server:/im);
  t.notMatch(responses[0], /^x-powered-by:/im);
  t.notMatch(responses[0], /^x-runtime:/im);
  t.notMatch(responses[0], /^connection: close/im);
  t.match(responses[0], /^connection: keep-alive/im);
});

t.test('upstream connections are kept alive and reused', async (t) => {
  const sockets = new Set<unknown>();
  const onConn = (s: unknown) => sockets.add(s);
  backend.server.on('connection', onConn);
  t.teardown(() => backend.server.off('connection', onConn));
  for (let i = 0; i < 20; i++) {
    const res = await request(`${bw.url}/ka`);
    await res.body.text();
  }
  t.ok(sockets.size <= 1, `20 sequential requests used ${sockets.size} new upstream connection(s)`);
});

t.test('/healthz and /readyz live on the admin listener only', async (t) => {
  const h = await request(`${bw.adminUrl}/healthz`);
  t.equal(h.statusCode, 200);
  t.same(await h.body.json(), { status: 'ok' });
  const r = await request(`${bw.adminUrl}/readyz`);
  t.equal(r.statusCode, 200);
  await r.body.text();
  const before = backend.count;
  const p = await request(`${bw.url}/healthz`);
  await p.body.text();
  t.equal(backend.count, before + 1, 'on the proxy port /healthz is just a path forwarded to the backend');
});
