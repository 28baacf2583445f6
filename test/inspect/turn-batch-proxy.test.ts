// Inspections batched per event-loop turn, through the real proxy: many requests arriving together (one connection
// each) are inspected in batches, and each still gets its own verdict: benign ones reach the real backend, attacks get
// 403 and nothing forwarded, and a request whose inspection throws fails closed (500, logged) without taking the rest
// of its batch with it. The ruleset is the real library, compiled; only its `inspect` is wrapped to throw on /boom.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { compileRuleset, type CompiledRuleset } from '../../src/inspect/engine.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const library = readSignatureFiles('signatures').signatures.filter((s) => {
  try {
    compileSignature(s);
    return true;
  } catch {
    return false;
  }
});
const real = compileRuleset(library, { version: 1 });
let inspected = 0;
// Inspections run back to back with no microtask checkpoint between them only when batched: each marks itself, and the
// mark is cleared at the next checkpoint. `longestRun`: the most inspections seen in one such run.
let running = 0;
let longestRun = 0;
const ruleset: CompiledRuleset = {
  version: real.version,
  source: real.source,
  signatures: real.signatures,
  inspectView: (view, ctx) => real.inspectView(view, ctx),
  inspect(input, ctx) {
    inspected++;
    if (running === 0) queueMicrotask(() => (running = 0));
    longestRun = Math.max(longestRun, ++running);
    if (input.url.startsWith('/boom')) throw new Error('engine failure for the test');
    return real.inspect(input, ctx);
  },
};

const backend = await startBackend();
t.teardown(() => backend.close());
// In the event loop (inspection.thread false): the thread would compile its own copy of the real library, not this wrapper.
const bw = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { thread: false } }, {
  rules: { current: () => ruleset, status: () => ({ version: 1, store: 'memory', storeReachable: true, lastError: null, loadedAt: new Date().toISOString(), compileMs: 0 }) },
});
t.teardown(() => bw.close());

t.test('a crowd of requests sent at once: every one gets its own verdict', async (t) => {
  const sqli = encodeURIComponent("1' UNION SELECT password FROM users--");
  const sent: Array<{ path: string; want: number; body?: string }> = [];
  for (let i = 0; i < 30; i++) {
    sent.push({ path: `/benign/${i}?q=running+shoes+${i}`, want: 200 });
    sent.push({ path: `/attack/${i}?id=${sqli}`, want: 403 });
    sent.push({ path: `/form/${i}`, want: i % 2 ? 403 : 200, body: i % 2 ? `comment=${encodeURIComponent('<script>alert(1)</script>')}&n=${i}` : `comment=hello+there&n=${i}` });
    if (i % 10 === 0) sent.push({ path: `/boom/${i}`, want: 500 });
  }
  const before = backend.received.length;
  const inspectedBefore = inspected;
  // One connection per request, all open before any request is written; then every request is written in one go, so
  // the server finds them readable together.
  const sockets = await Promise.all(sent.map(() => new Promise<Socket>((resolve, reject) => {
    const s = connect(bw.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  // The server accepts connections in turns of its own (this process's loop): let it take them all first.
  await new Promise((r) => setTimeout(r, 100));
  const replies = sockets.map((sock) => new Promise<string>((resolve) => {
    let out = '';
    sock.on('data', (c: Buffer) => (out += c.toString('latin1')));
    sock.on('close', () => resolve(out));
  }));
  sent.forEach((s, k) => {
    const head = `${s.body === undefined ? 'GET' : 'POST'} ${s.path} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n`;
    sockets[k].write(s.body === undefined ? `${head}\r\n` : `${head}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(s.body)}\r\n\r\n${s.body}`);
  });
  const answers = (await Promise.all(replies)).map((raw) => ({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]), text: raw }));
  t.ok(longestRun >= 2, `requests were inspected back to back (longest run ${longestRun})`);
  t.equal(inspected - inspectedBefore, sent.length, 'every request inspected once');
  for (let k = 0; k < sent.length; k++) t.equal(answers[k].status, sent[k].want, `${sent[k].path}`);
  const forwarded = backend.received.slice(before).map((r) => r.url).sort();
  const expected = sent.filter((s) => s.want === 200).map((s) => s.path).sort();
  t.same(forwarded, expected, 'the backend got exactly the clean requests');
  const boom = answers.filter((_, k) => sent[k].want === 500);
  for (const a of boom) {
    t.match(a.text, /500 Internal error/, 'our error page');
    t.notMatch(a.text, new RegExp(String(new URL(backend.origin).port)), 'no backend port in the answer');
  }
  t.equal(bw.logs.filter((l) => l.msg === 'inspection failed').length, boom.length, 'each failure logged once');
});
