// HEAD, Expect: 100-continue, empty and no-body responses, large streamed responses, client aborts.
import t from 'tap';
import { request } from 'undici';
import type { Backend } from '../helpers/backend.ts';
import { backendBehindBulwark, rawRequest, rawStatus, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;
backendBehindBulwark(t, (b, p) => {
  backend = b;
  bw = p;
});

t.test('HEAD gets the headers and no body', async (t) => {
  const out = await rawRequest(bw.port, 'HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(rawStatus(out), 200);
  t.match(out, /content-length: \d+/i);
  t.equal(out.split('\r\n\r\n')[1], '', 'no body bytes');
  t.equal(backend.received[backend.received.length - 1].method, 'HEAD');
});

t.test('Expect: 100-continue is answered by Bulwark and the body forwarded', async (t) => {
  const out = await rawRequest(bw.port, 'POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello');
  t.match(out, /HTTP\/1\.1 200/);
  const last = backend.received[backend.received.length - 1];
  t.equal(last.body.toString(), 'hello');
  t.notOk(last.headers.expect);
});

t.test('204 and 304 pass through without a body', async (t) => {
  for (const status of [204, 304]) {
    backend.handle((_req, res) => {
      res.writeHead(status, { etag: '"x"' });
      res.end();
    });
    const res = await request(`${bw.url}/s`);
    t.equal(res.statusCode, status);
    t.equal(await res.body.text(), '');
  }
  backend.handle(null);
});

t.test('a large response streams through intact', async (t) => {
  const big = Buffer.alloc(5 * 1024 * 1024, 'z');
  backend.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(big);
  });
  t.teardown(() => backend.handle(null));
  const res = await request(`${bw.url}/big`);
  const got = Buffer.from(await res.body.arrayBuffer());
  t.equal(got.length, big.length);
  t.ok(got.equals(big));
});

t.test('a client that goes away cancels the upstream request', async (t) => {
  let closed = false;
  backend.handle((_req, res) => {
    res.on('close', () => (closed = true));
    setTimeout(() => res.end('late'), 2000);
  });
  t.teardown(() => backend.handle(null));
  await rawRequest(bw.port, 'GET /abort HTTP/1.1\r\nHost: x\r\n\r\n', 300);
  const deadline = Date.now() + 1500;
  while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(closed, 'upstream connection closed before the backend answered');
});
