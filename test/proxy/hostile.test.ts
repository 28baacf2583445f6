// Hostile requests on raw sockets: each is refused with 400 (or 408/413/414/431) and the counting backend receives nothing.
import t from 'tap';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { rawRequest, rawStatus, PROXY_ONLY, startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;

t.before(async () => {
  backend = await startBackend();
  bw = await startTestBulwark({
    ...PROXY_ONLY,
    upstream: backend.origin,
    limits: { maxHeaderCount: 20, maxUriLength: 200, maxHeaderBytes: 4096, maxBodyBytes: 1000, headersTimeoutMs: 400, requestTimeoutMs: 2000 },
    inspection: { bodyLimit: 500, bodyPolicy: 'reject' },
  });
});
t.teardown(async () => {
  await bw.close();
  await backend.close();
});

const cases: Array<[string, string, number]> = [
  ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['Transfer-Encoding then Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nX', 400],
  ['duplicate differing Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde', 400],
  ['Content-Length list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 5\r\n\r\nabcde', 400],
  ['invalid chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
  ['chunk without CRLF after data', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', 400],
  ['Transfer-Encoding not ending in chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 400],
  ['obfuscated Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 400],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: x\n\n', 400],
  ['bare LF inside a header line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n', 400],
  ['bare CR in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\n\r\n', 400],
  ['non-token method', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['method with a control byte', 'GE\x01T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400],
  ['obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400],
  ['space in the request target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['absolute-form target', 'GET http://169.254.169.254/latest HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['unknown HTTP version', 'GET / HTTP/9.1\r\nHost: x\r\n\r\n', 400],
  ['URI longer than limits.maxUriLength', `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ['more headers than limits.maxHeaderCount', 'GET / HTTP/1.1\r\nHost: x\r\n' + Array.from({ length: 25 }, (_, i) => `X-H${i}: v\r\n`).join('') + '\r\n', 431],
  ['headers larger than limits.maxHeaderBytes', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`, 431],
  ['declared body over the limit', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n' + 'a'.repeat(5000), 413],
  ['chunked body over the limit', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + '100\r\n' + 'a'.repeat(256) + '\r\n' + '100\r\n' + 'a'.repeat(256) + '\r\n0\r\n\r\n', 413],
  ['method not in the allow-list', 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n', 405],
  ['WebDAV method not in the allow-list', 'PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n', 405],
];

for (const [name, raw, status] of cases) {
  t.test(name, async (t) => {
    const before = backend.count;
    const out = await rawRequest(bw.port, raw, 800);
    t.equal(rawStatus(out), status, `answered ${status}: ${out.slice(0, 60).replace(/\r\n/g, ' | ')}`);
    t.notMatch(out, /127\.0\.0\.1|:\d{4,5}\b/, 'no upstream address in the answer');
    t.equal(backend.count, before, 'nothing reached the backend');
  });
}

t.test('a well-formed request on the same setup still passes (the cases above are not refused by accident)', async (t) => {
  const before = backend.count;
  const out = await rawRequest(bw.port, 'POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  t.equal(rawStatus(out), 200);
  t.equal(backend.count, before + 1);
});

t.test('a refused request leaves a log line with its stable code', async (t) => {
  await rawRequest(bw.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde', 500);
  t.ok(bw.logs.some((l) => l.msg === 'refused a malformed request' && l.code === 'WAF_ERR_BAD_REQUEST' && typeof l.parserError === 'string'));
  await rawRequest(bw.port, `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 500);
  t.ok(bw.logs.some((l) => l.msg === 'request refused' && l.code === 'WAF_ERR_URI_TOO_LONG' && typeof l.reqId === 'string'));
});

t.test('slowloris: a client that never finishes its headers is cut off at headersTimeout', async (t) => {
  const start = Date.now();
  const out = await rawRequest(bw.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 5000);
  const took = Date.now() - start;
  t.ok(took < 3000, `closed after ${took} ms`);
  t.ok(out === '' || rawStatus(out) === 408, `answer: ${out.slice(0, 40)}`);
});

t.test('limits.maxConnections: connections over the cap are dropped, the held ones keep working', async (t) => {
  const { connect } = await import('node:net');
  const capped = await startTestBulwark({ ...PROXY_ONLY, upstream: backend.origin, limits: { maxConnections: 2 } });
  t.teardown(() => capped.close());
  const open = () =>
    new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = connect(capped.port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const a = await open();
  const b = await open();
  await new Promise((r) => setTimeout(r, 100));
  const third = await rawRequest(capped.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 500);
  t.equal(third, '', 'third connection closed without an answer');
  const answer = new Promise<string>((resolve) => {
    let buf = '';
    a.on('data', (c) => {
      buf += c.toString();
      if (buf.includes('\r\n\r\n')) resolve(buf);
    });
  });
  a.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(rawStatus(await answer), 200, 'a held connection is served');
  a.destroy();
  b.destroy();
});
