// The inspection plugin through the real proxy: real backend on loopback, the real signature library; block answers
// 403 with an event id and forwards nothing, detect forwards and logs, off skips, config exclusions apply.
import t from 'tap';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const backend = await startBackend();
t.teardown(() => backend.close());

async function bulwark(extra: Record<string, unknown> = {}) {
  const b = await startTestBulwark({ upstream: backend.origin, ...extra });
  t.teardown(() => b.close());
  return b;
}

const b = await bulwark();

t.test('benign GET and form POST reach the backend', async (t) => {
  const before = backend.received.length;
  const r1 = await fetch(`${b.url}/search?q=O%27Brien+select+a+union+rep`);
  t.equal(r1.status, 200);
  const r2 = await fetch(`${b.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user=alice&comment=I+like+%3Cb%3Ebold%3C%2Fb%3E+text' });
  t.equal(r2.status, 200);
  t.equal(backend.received.length, before + 2);
});

t.test('SQL injection in the query is blocked with an event id; nothing forwarded', async (t) => {
  const before = backend.received.length;
  const r = await fetch(`${b.url}/item?id=1+union+select+username,password+from+users--`);
  t.equal(r.status, 403);
  const html = await r.text();
  const id = /event <strong><code>([^<]+)<\/code>/.exec(html)?.[1];
  t.ok(id, 'event id on the page');
  t.equal(backend.received.length, before, 'backend saw nothing');
  const line = b.logs.find((l) => l.msg === 'request blocked' && l.eventId === id);
  t.ok(line, 'log line with the event id');
  t.ok((line?.signatures as string[]).some((s) => s.startsWith('942')), 'an SQLi signature fired');
});

t.test('attack in a form body is blocked; JSON page when asked', async (t) => {
  const r = await fetch(`${b.url}/comment`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'text=' + encodeURIComponent('<script>alert(document.cookie)</script>'),
  });
  t.equal(r.status, 403);
  const j = (await r.json()) as { error: { code: string; eventId: string } };
  t.equal(j.error.code, 'WAF_ERR_BLOCKED');
  t.ok(j.error.eventId);
});

t.test('detect mode forwards and logs; off forwards without inspecting', async (t) => {
  const d = await bulwark({ mode: 'detect' });
  const before = backend.received.length;
  const r = await fetch(`${d.url}/item?id=1+union+select+1,2--`);
  t.equal(r.status, 200);
  t.equal(backend.received.length, before + 1);
  t.ok(d.logs.some((l) => l.msg === 'attack detected (detect mode: forwarded)'));
  const off = await bulwark({ mode: 'off' });
  const r2 = await fetch(`${off.url}/item?id=1+union+select+1,2--`);
  t.equal(r2.status, 200);
  t.notOk(off.logs.some((l) => typeof l.msg === 'string' && /blocked|detected/.test(l.msg as string)));
});

t.test('config exclusions remove signatures for one target on a path prefix, before evaluation', async (t) => {
  const x = await bulwark({ inspection: { exclusions: [{ id: 'cms-body', rule: '*', pathPrefix: '/admin/pages/', target: 'args:content' }] } });
  const body = 'content=' + encodeURIComponent('<script>alert(1)</script>');
  const hdr = { 'content-type': 'application/x-www-form-urlencoded' };
  t.equal((await fetch(`${x.url}/admin/pages/7`, { method: 'POST', headers: hdr, body })).status, 200, 'excluded target on the path');
  t.equal((await fetch(`${x.url}/comments/7`, { method: 'POST', headers: hdr, body })).status, 403, 'other path still inspected');
  t.equal((await fetch(`${x.url}/admin/pages/7`, { method: 'POST', headers: hdr, body: 'title=' + encodeURIComponent('<script>alert(1)</script>') })).status, 403, 'other field still inspected');
  t.equal((await fetch(`${x.url}/admin/pages/../../comments/7`, { method: 'POST', headers: hdr, body })).status, 403, 'dot segments do not reach the exclusion');
});
