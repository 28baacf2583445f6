/** POST /api/explain: a dry run through the live engine with the real signature library; read-only tokens may use it. */
import t from 'tap';
import { startTestBulwark } from '../helpers/bulwark.ts';

const VIEWER = 'explain-viewer-token-0123456789';

t.test('explain', async (t) => {
  const b = await startTestBulwark({ events: { file: false }, admin: { listen: '127.0.0.1:0', tokens: [{ name: 'v', token: VIEWER, role: 'viewer' }] } });
  t.teardown(() => b.close());
  const explain = (body: unknown, token: string | undefined = VIEWER) => fetch(`${b.adminUrl}/api/explain`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  const attack = await explain({ url: "/search?q=1' UNION SELECT password FROM users--" });
  t.equal(attack.status, 200);
  const a = (await attack.json()) as { verdict: { action: string; score: number; matches: Array<{ id: number; family: string; target: string }> } };
  t.equal(a.verdict.action, 'block');
  t.ok(a.verdict.score >= 5);
  t.ok(a.verdict.matches.some((m) => m.family === 'sqli' && m.target === 'args:q'), JSON.stringify(a.verdict.matches.map((m) => [m.id, m.target])));

  const benign = (await (await explain({ method: 'POST', url: '/comment', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'text=Hello+there%2C+nice+post' })).json()) as { verdict: { action: string; matches: unknown[] } };
  t.equal(benign.verdict.action, 'allow');
  t.same(benign.verdict.matches, []);

  const bad = await explain({ url: 'no-slash' });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { error: 'WAF_ERR_BAD_REQUEST', message: /url/ });
  t.equal((await explain({ url: '/' }, '')).status, 401, 'no token → 401');
  const listed = (await (await fetch(`${b.adminUrl}/api/events`, { headers: { authorization: `Bearer ${VIEWER}` } })).json()) as { count: number; events: unknown[] };
  t.equal(listed.count, 0, `a dry run records no event ${JSON.stringify(listed.events).slice(0, 300)}`);
});
