// Through a real Bulwark (default config: inspection in its own thread) and a real backend: the thread's verdicts
// decide (attacks 403 with an event id and nothing forwarded, clean requests forwarded byte for byte), and when the
// thread is stopped mid-test the proxy starts another and goes on inspecting: nothing passes uninspected.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import type { CompiledRuleset } from '../../src/inspect/engine.ts';
import { setEnabled } from '../../src/store/changes.ts';
import type { RuleService } from '../../src/store/rule-service.ts';

const backend = await startBackend();
t.teardown(() => backend.close());
const bw = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false } });
t.teardown(() => bw.close());
const threads = bw.services.inspectionThreads;
const thread = threads?.small;

const sqli = `/?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`;
const boundary = '----bulwarkThreadTest';
const multipart = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`),
  Buffer.from('caf\u00e9 menu for the week, \u00fcber gut', 'utf8'),
  Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
  Buffer.from([0, 1, 2, 0xfe, 0xff, 13, 10, 45, 45]),
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);

async function send(path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}) {
  const res = await request(`${bw.url}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers: { host: 'shop.example.com', ...opts.headers }, body: opts.body });
  return { status: res.statusCode, text: await res.body.text() };
}

t.test('the default config inspects in the thread', async (t) => {
  t.ok(thread, 'Bulwark started an inspection thread');
  t.ok(thread?.thread, 'and it runs');
});

t.test('attacks blocked, clean requests forwarded byte for byte', async (t) => {
  const before = backend.received.length;
  const blocked = await send(sqli, { headers: { accept: 'application/json' } });
  t.equal(blocked.status, 403, 'SQL injection: 403');
  t.match(JSON.parse(blocked.text), { error: { code: 'WAF_ERR_BLOCKED', eventId: /\S+/ } }, 'with an event id');
  t.equal(backend.received.length, before, 'nothing forwarded');
  const xss = await send('/comment', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `c=${encodeURIComponent('<script>alert(document.cookie)</script>')}` });
  t.equal(xss.status, 403, 'XSS in a form body: 403');
  const up = await send('/upload', { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: multipart });
  t.equal(up.status, 200, 'a clean multipart upload passes');
  const got = backend.received.at(-1);
  t.ok(got && Buffer.compare(got.body, multipart) === 0, 'the backend gets the very bytes sent');
  t.equal(got?.headers['content-type'], `multipart/form-data; boundary=${boundary}`, 'and the Content-Type with its boundary');
  t.equal((await send('/products?q=running+shoes')).status, 200, 'a clean GET passes');
  t.equal(backend.received.length, before + 2, 'only the clean requests were forwarded');
});

t.test('a large body is inspected in the second thread: an attack at its end is blocked, a clean one forwarded intact', async (t) => {
  t.ok(threads?.large, 'the default config has a thread for large bodies');
  const filler = Array.from({ length: 400 }, (_, i) => ({ sku: `item-${i}`, note: 'plain product text' }));
  const clean = Buffer.from(JSON.stringify({ items: filler, comment: 'deliver after five' }));
  const attack = Buffer.from(JSON.stringify({ items: filler, comment: "x' UNION SELECT password FROM users--" }));
  t.ok(clean.length >= 16_384 && attack.length >= 16_384, `bodies over the default 16 KiB (${clean.length} bytes)`);
  const before = backend.received.length;
  const blocked = await send('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: attack });
  t.equal(blocked.status, 403, 'the attack after 16 KiB of JSON: 403');
  t.ok(threads?.large?.thread, 'inspected by the large-body thread (it runs)');
  const passed = await send('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: clean });
  t.equal(passed.status, 200, 'the clean one passes');
  t.equal(backend.received.length, before + 1, 'only it was forwarded');
  t.ok(Buffer.compare(backend.received.at(-1)!.body, clean) === 0, 'byte for byte');
});

t.test('the thread stopped mid-test: another starts, requests are still inspected', async (t) => {
  const first = thread?.thread;
  t.ok(first, 'a thread runs');
  // A thread that died within a second of starting is replaced only after that second (no respawn loop).
  await new Promise((r) => setTimeout(r, 1100));
  await first?.terminate();
  const before = backend.received.length;
  const results = await Promise.all([send(sqli), send('/products?q=boots'), send(sqli), send('/products?q=sandals')]);
  t.same(results.map((r) => r.status), [403, 200, 403, 200], 'attacks 403, clean 200: inspected by a new thread');
  t.equal(backend.received.length, before + 2, 'the attacks were not forwarded');
  t.not(thread?.thread, first, 'a new thread');
  t.equal(threads?.restarts, 1, 'one restart counted');
  t.ok(bw.logs.some((l) => l.msg === 'inspection thread lost: its waiting requests answered 500, starting another'), 'the loss was logged');
  const metrics = await (await request(`${bw.adminUrl}/metrics`)).body.text();
  t.match(metrics, /\nbulwark_inspection_thread_restarts 1\n/, 'and counted in /metrics');
  t.match(metrics, /\nbulwark_inspection_waiting 0\n/, 'with nothing left waiting');
  t.match(metrics, /\nbulwark_inspection_duration_seconds_count [1-9]/, 'the times measured in the thread are observed');
});

t.test('a new version is compiled by the thread before it goes live: its first request waits for no compile', async (t) => {
  const rules = bw.services.rules as { current(): CompiledRuleset; status(): { version: number } };
  const before = rules.current();
  t.ok(threads?.compiled(before), 'both threads have the version they started with');
  // Switch off the signatures the SQL injection matches: the next version lets it through.
  const v = await send(sqli, { headers: { accept: 'application/json' } });
  t.equal(v.status, 403);
  const matched = new Set((before.inspect({ method: 'GET', url: sqli, httpVersion: '1.1', headers: [['Host', 'shop.example.com']], body: null }, { paranoia: 1, threshold: 5, mode: 'block' })).matches.map((m) => m.id));
  t.ok(matched.size > 0);
  await (bw.services.store as RuleService<CompiledRuleset>).apply((s) => {
    let c = setEnabled(s, [...matched][0], false);
    for (const id of [...matched].slice(1)) c = { ...setEnabled(c.content, id, false), action: c.action };
    return c;
  }, 'test');
  for (let i = 0; i < 200 && rules.current() === before; i++) await new Promise((r) => setTimeout(r, 10));
  const after = rules.current();
  t.not(after, before, 'the new version is live');
  t.ok(threads?.compiled(after), 'and both had compiled it before the swap (no request has used it yet)');
  const count = backend.received.length;
  const now = await send(sqli);
  t.equal(now.status, 200, 'the thread inspects with the new version: the request passes');
  t.equal(backend.received.length, count + 1);
  t.match(backend.received.at(-1)?.url, /UNION%20SELECT/, 'and reaches the backend');
});

t.test('no second thread when it is turned off or could never be used (limit above inspection.bodyLimit)', async (t) => {
  for (const largeBodyThread of [false, 2 * 1024 * 1024]) {
    const other = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { largeBodyThread } });
    t.equal(other.services.inspectionThreads?.large, null, `largeBodyThread ${largeBodyThread}: one thread`);
    t.equal(other.services.inspectionThreads?.lanes().length, 1);
    await other.close();
  }
  const at = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { largeBodyThread: 1024 * 1024 } });
  t.ok(at.services.inspectionThreads?.large, 'a limit equal to bodyLimit: the second thread exists');
  await at.close();
});
