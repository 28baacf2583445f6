// Upstream answers through a real Bulwark: small ones are read whole and sent in one write, large and unknown-length
// ones stream; either way the client gets the backend's bytes and headers, and a body cut short is never passed on as
// a complete answer.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import type { Backend, BackendHandler } from '../helpers/backend.ts';
import { backendBehindBulwark, rawRequest, PROXY_ONLY, startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;
backendBehindBulwark(t, (b, p) => {
  backend = b;
  bw = p;
});

/** The backend answers with `h` for this test, then echoes again. */
const serve = (t: Test, h: BackendHandler) => {
  backend.handle(h);
  t.teardown(() => backend.handle(null));
};

/** GET a path through Bulwark and read the whole answer. */
const fetchWhole = async (path: string) => {
  const res = await request(`${bw.url}${path}`);
  return { res, body: Buffer.from(await res.body.arrayBuffer()) };
};

t.test('a small answer: same bytes, status, headers (repeated Set-Cookie kept), Content-Length', async (t) => {
  const body = randomBytes(3000);
  serve(t, (_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.writeHead(201, { 'content-type': 'application/x-thing', 'content-length': body.length, 'x-app': 'yes' });
    res.end(body);
  });
  const { res, body: got } = await fetchWhole('/small');
  t.equal(res.statusCode, 201);
  t.ok(got.equals(body), 'same bytes');
  t.equal(res.headers['content-type'], 'application/x-thing');
  t.equal(res.headers['content-length'], String(body.length));
  t.equal(res.headers['x-app'], 'yes');
  t.same(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
});

t.test('a large answer (1 MiB, over the buffered size) arrives byte for byte', async (t) => {
  const body = randomBytes(1024 * 1024);
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  const { res, body: got } = await fetchWhole('/large');
  t.equal(res.statusCode, 200);
  t.ok(got.equals(body), 'same bytes');
});

t.test('an answer of unknown length streams: the first event reaches the client before the backend ends', async (t) => {
  let finish: () => void = () => {};
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    finish = () => res.end('data: two\n\n');
  });
  const res = await request(`${bw.url}/events`);
  t.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  const first = await it.next();
  t.match(String(first.value), /data: one/, 'first event arrived while the backend still holds the answer open');
  finish();
  let rest = '';
  for (let n = await it.next(); !n.done; n = await it.next()) rest += String(n.value);
  t.match(rest, /data: two/);
});

t.test('a small answer without Content-Type is not given one', async (t) => {
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 5 });
    res.end('hello');
  });
  const res = await request(`${bw.url}/untyped`);
  t.equal(await res.body.text(), 'hello');
  t.equal(res.headers['content-type'], undefined);
});

t.test('HEAD keeps the declared length; 204 and 304 carry no body', async (t) => {
  serve(t, (req, res) => {
    if (req.url === '/head') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1234 });
      res.end();
    } else if (req.url === '/204') {
      res.writeHead(204, { 'x-n': '1' });
      res.end();
    } else {
      res.writeHead(304, { etag: '"v1"' });
      res.end();
    }
  });
  const head = await request(`${bw.url}/head`, { method: 'HEAD' });
  t.equal(head.statusCode, 200);
  t.equal(head.headers['content-length'], '1234');
  t.equal(await head.body.text(), '');
  const nc = await request(`${bw.url}/204`);
  t.equal(nc.statusCode, 204);
  t.equal(nc.headers['x-n'], '1');
  t.equal(await nc.body.text(), '');
  const nm = await request(`${bw.url}/304`);
  t.equal(nm.statusCode, 304);
  t.equal(nm.headers.etag, '"v1"');
  t.equal(await nm.body.text(), '');
});

t.test('a small body cut short by the backend is a 502 page, not a truncated answer', async (t) => {
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': 100 });
    res.write('<html>only part of it');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const out = await rawRequest(bw.port, 'POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', 3000);
  t.match(out, /^HTTP\/1\.1 502/);
  t.notMatch(out, /only part of it/);
  t.notMatch(out, /127\.0\.0\.1|:\d{4,5}\b.*backend/i, 'no backend address');
});

t.test('a large body cut short ends the client connection short of its declared length', async (t) => {
  const declared = 1024 * 1024;
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': declared });
    res.write(Buffer.alloc(128 * 1024, 7));
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const received = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(bw.port, '127.0.0.1', () => s.write('POST /cut-large HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      reject(new Error('the proxy kept the connection open'));
    }, 5000);
  });
  const head = received.subarray(0, received.indexOf('\r\n\r\n')).toString('latin1');
  t.match(head, /^HTTP\/1\.1 200/, 'the answer had started');
  t.ok(received.length - head.length - 4 < declared, `closed after ${received.length} bytes, short of ${declared}`);
  backend.handle(null);
  const next = await request(`${bw.url}/after`);
  t.equal(next.statusCode, 200, 'the proxy still serves');
  await next.body.text();
});

t.test('a client that leaves mid-stream cancels the upstream request', async (t) => {
  let upstreamClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: tick\n\n');
    const timer = setInterval(() => res.write('data: tick\n\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed();
    });
  });
  const s = connect(bw.port, '127.0.0.1', () => s.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n'));
  await new Promise<void>((r) => s.once('data', () => r()));
  s.destroy();
  const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3000))]);
  t.equal(outcome, 'closed', 'the backend saw its answer cancelled');
});

t.test('a backend answering garbage gets the client a 502 page naming no backend, and a log line', async (t) => {
  const junk = createServer((s) => s.once('data', () => s.end('HTTP/1.1 2x0 ???\r\nContent-Length: nope\r\n\r\nhello')));
  await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
  const port = (junk.address() as AddressInfo).port;
  const other = await startTestBulwark({ ...PROXY_ONLY, upstream: `http://127.0.0.1:${port}` });
  t.teardown(async () => {
    await other.close();
    await new Promise<void>((r) => junk.close(() => r()));
  });
  const res = await request(`${other.url}/x`, { headers: { accept: 'application/json' } });
  const text = await res.body.text();
  t.equal(res.statusCode, 502);
  t.notMatch(text, new RegExp(`127\\.0\\.0\\.1|${port}`), 'no backend address or port');
  const logged = other.logs.find((l) => l.msg === 'upstream failure');
  t.ok(logged, 'an upstream failure line');
  t.equal(logged?.code, 'WAF_ERR_UPSTREAM_UNAVAILABLE');
});
