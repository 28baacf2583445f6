// The bytes of request bodies held in memory, all requests together, are bounded (limits.maxBufferedBodyBytes): a
// body that does not fit gets 503 WAF_ERR_OVERLOADED with Retry-After, the connection closes, the refusal is logged,
// and the bodies already held go through untouched; every byte is given back when its request is over, whether it
// was answered, refused or abandoned mid-body. Real Bulwark, real backend, raw sockets to hold a body half-sent.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const backend = await startBackend();
t.teardown(() => backend.close());
const bw = await startTestBulwark({ upstream: backend.origin, mode: 'off', rateLimit: { enabled: false }, limits: { maxBodyBytes: 90_000, maxBufferedBodyBytes: 100_000 } });
t.teardown(() => bw.close());
const port = Number(new URL(bw.url).port);
const budget = bw.services.bodyBudget!;

/** A POST whose head and first `first` body bytes are sent now; the answer (head and body) as text once the socket ends. */
function post(path: string, length: number, first: number) {
  const s: Socket = connect(port, '127.0.0.1');
  let text = '';
  s.on('data', (c) => (text += c.toString('latin1')));
  const ended = new Promise<string>((resolve) => s.on('close', () => resolve(text)));
  s.on('error', () => undefined);
  s.write(`POST ${path} HTTP/1.1\r\nHost: shop.example.com\r\nAccept: application/json\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
  s.write(Buffer.alloc(first, 0x61));
  return { s, ended, rest: () => s.write(Buffer.alloc(length - first, 0x61)), answered: () => text };
}

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

t.test('a body that does not fit: 503 and the connection closed; the one held goes through; every byte given back', async (t) => {
  const a = post('/a', 80_000, 60_000);
  await until(() => budget.held === 60_000, 'the first 60,000 bytes held');
  t.equal(budget.max, 100_000);

  const b = post('/b', 80_000, 30_000);
  await until(() => budget.held === 90_000, 'the second body\'s first 30,000 bytes held too');
  b.rest();
  const refused = await b.ended;
  t.match(refused, /^HTTP\/1\.1 503 /, 'the second body does not fit: 503');
  t.match(refused, /\r\nretry-after: 1\r\n/i, 'with Retry-After');
  t.match(refused, /\r\nconnection: close\r\n/i, 'and the connection closed (the server ended the socket)');
  t.match(refused, /WAF_ERR_OVERLOADED/, 'code WAF_ERR_OVERLOADED');
  t.notMatch(refused, /127\.0\.0\.1:\d+/, 'no internal address');
  t.ok(bw.logs.some((l) => l.msg === 'refused: overloaded' && JSON.stringify(l).includes('WAF_ERR_OVERLOADED')), 'logged');
  t.equal(budget.held, 60_000, 'what the refused body had taken was given back');
  t.notOk(backend.received.some((r) => r.url === '/b'), 'not forwarded');
  t.equal(a.answered(), '', 'the first request still waits for the rest of its body');

  a.rest();
  await until(() => /^HTTP\/1\.1 200 /.test(a.answered()), 'the first answer');
  t.equal(backend.received.find((r) => r.url === '/a')?.body.length, 80_000, 'the first body forwarded whole');
  a.s.destroy();
  await until(() => budget.held === 0, 'nothing held');
  const metrics = await (await request(`${bw.adminUrl}/metrics`)).body.text();
  t.match(metrics, /\nbulwark_request_body_bytes_held 0\n/, '/metrics shows it');

  const again = await request(`${bw.url}/b`, { method: 'POST', headers: { host: 'shop.example.com' }, body: Buffer.alloc(80_000, 0x62) });
  await again.body.text();
  t.equal(again.statusCode, 200, 'the same body fits now');
  await until(() => budget.held === 0, 'nothing held after it');
});

t.test('a client that goes away mid-body gives its bytes back', async (t) => {
  const c = post('/c', 80_000, 50_000);
  await until(() => budget.held === 50_000, '50,000 bytes held');
  c.s.destroy();
  await until(() => budget.held === 0, 'given back');
  t.equal(budget.held, 0);
  t.notOk(backend.received.some((r) => r.url === '/c'), 'nothing forwarded');
});

t.test('a body over the route limit (413) gives back what it had taken', async (t) => {
  const small = await startTestBulwark({ upstream: backend.origin, mode: 'off', rateLimit: { enabled: false }, limits: { maxBodyBytes: 10_000, maxBufferedBodyBytes: 100_000 } });
  t.teardown(() => small.close());
  const held = () => small.services.bodyBudget!.held;
  const s = connect(Number(new URL(small.url).port), '127.0.0.1');
  let text = '';
  s.on('data', (c) => (text += c.toString('latin1')));
  s.on('error', () => undefined);
  const ended = new Promise((resolve) => s.on('close', resolve));
  s.write('POST /big HTTP/1.1\r\nHost: shop.example.com\r\nTransfer-Encoding: chunked\r\n\r\n');
  s.write(`1f40\r\n${'c'.repeat(8_000)}\r\n`);
  await until(() => held() === 8_000, '8,000 bytes held');
  s.write(`fa0\r\n${'c'.repeat(4_000)}\r\n`);
  await ended;
  t.match(text, /^HTTP\/1\.1 413 /, '413 past the route limit');
  t.equal(held(), 0, 'the 8,000 bytes it held were given back');
});
