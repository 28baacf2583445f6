import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBulwark } from '../helpers/bulwark.ts';
import { startBackend } from '../helpers/backend.ts';
import { plantedEvent, SECRET } from '../log/fixtures.ts';
import { newEventId } from '../../src/log/event.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

t.test('admin API: auth, search, top, timeline, event by id, metrics, openapi — no secret anywhere', async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-admin-'));
  const file = join(dir, 'events.jsonl');
  const b = await startTestBulwark({
    upstream: backend.origin,
    events: { file: { path: file } },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'alice', token: ADMIN, role: 'admin' }, { name: 'victor', token: VIEWER, role: 'viewer' }] },
  });
  t.teardown(() => b.close());
  const sink = b.running.services.events!;
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const e = plantedEvent({ id: newEventId() }, i % 2);
    ids.push(e.id);
    sink.record(e);
  }
  sink.record({ ...plantedEvent({ id: newEventId() }), action: 'rate-limit', policy: 'login', matches: [] });

  const post = (path: string, token: string | undefined, body: unknown) => fetch(b.adminUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  const get = (path: string, token?: string) => fetch(b.adminUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  // auth
  t.equal((await get('/api/events')).status, 401, 'no token → 401');
  t.equal((await get('/api/events', 'wrong-token-0123456789')).status, 401, 'unknown token → 401');
  t.equal((await get('/api/events', VIEWER)).status, 200, 'viewer can read');
  const forbidden = await post(`/api/events/${ids[0]}/exclusion`, VIEWER, {});
  t.equal(forbidden.status, 403, 'viewer cannot change → 403');
  t.equal((await forbidden.json()).error, 'WAF_ERR_FORBIDDEN');
  t.equal((await get('/healthz')).status, 200, 'health stays open');
  // The same auth covers the other parts' admin routes (rules store, bans).
  t.equal((await get('/api/rules')).status, 401, 'rules API: no token → 401');
  t.equal((await get('/api/bans')).status, 401, 'bans API: no token → 401');
  t.equal((await get('/api/rules', VIEWER)).status, 200, 'rules API: viewer reads');
  const put = (path: string, token: string, body: unknown) => fetch(b.adminUrl + path, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  t.equal((await put('/api/modes/default', VIEWER, { mode: 'detect' })).status, 403, 'viewer cannot switch a mode');
  t.equal((await post('/api/bans', VIEWER, { ip: '198.51.100.9', seconds: 60 })).status, 403, 'viewer cannot ban');
  t.equal((await put('/api/modes/default', ADMIN, { mode: 'block' })).status, 200, 'admin can');
  t.equal((await get('/ui/')).status, 200, 'dashboard shell is public (its data is not)');

  // search
  const all = await (await get('/api/events?limit=50', ADMIN)).json();
  t.equal(all.count, 7);
  t.equal(all.events[0].action, 'rate-limit', 'newest first');
  t.equal(all.events[0].policy, 'login');
  const byIp = await (await get('/api/events?ip=203.0.113.2', ADMIN)).json();
  t.equal(byIp.count, 3);
  const byRule = await (await get('/api/events?rule=942100&action=block&family=sqli&site=shop&path=/api/login&since=1h', ADMIN)).json();
  t.equal(byRule.count, 6);
  t.equal((await (await get('/api/events?rule=1', ADMIN)).json()).count, 0);
  t.equal((await (await get('/api/events?q=curl', ADMIN)).json()).count, 7);
  const bad = await get('/api/events?since=yesterdayish', ADMIN);
  t.equal(bad.status, 400);
  t.match((await bad.json()).message, /since/);

  const one = await (await get(`/api/events/${ids[2]}`, ADMIN)).json();
  t.equal(one.id, ids[2]);
  t.equal(one.matches.length, 3);
  t.equal((await get('/api/events/0000000000000000x', ADMIN)).status, 404);
  t.equal((await get('/api/events/..%2f..%2fetc', ADMIN)).status, 400);

  const topSigs = await (await get('/api/events/top?kind=signatures', ADMIN)).json();
  t.same(topSigs.top.slice(0, 3).map((x: { key: string }) => x.key).sort(), ['941100', '942100', '942200']);
  const topIps = await (await get('/api/events/top?kind=ips&n=1', ADMIN)).json();
  t.same(topIps.top, [{ key: '203.0.113.1', count: 4 }]);
  const tl = await (await get('/api/events/timeline?since=10m&buckets=10', ADMIN)).json();
  t.equal(tl.counts.reduce((n: number, c: Record<string, number>) => n + (c.block ?? 0), 0), 6);

  const dry = await (await post(`/api/events/${ids[0]}/exclusion`, ADMIN, { match: 0, dryRun: true })).json();
  t.same(dry.exclusions, [{ rule: '942100', site: 'shop', pathRegex: '^/api/login$', target: 'args:q', note: `allowed from event ${ids[0]} (SQL injection (libinjection))` }]);

  const metrics = await (await get('/metrics', VIEWER)).text();
  t.match(metrics, /bulwark_blocks_total\{family="sqli",signature="942100"\} 6/);
  t.match(metrics, /bulwark_ratelimit_decisions_total\{policy="login",decision="rate-limit"\} 1/);
  t.match(metrics, /bulwark_ruleset_version/);
  t.equal((await get('/metrics')).status, 401, 'metrics need a token too');

  // proxy traffic counts by site/verdict
  await fetch(b.url + '/hello');
  const m2 = await (await get('/metrics', VIEWER)).text();
  t.match(m2, /bulwark_requests_total\{site="default",verdict="allow"\} 1/);
  t.match(m2, /bulwark_upstream_duration_seconds_count\{site="default"\} 1/);
  t.equal(backend.count, 1, 'the request reached the backend');

  const spec = await (await get('/api/openapi.json', VIEWER)).json();
  t.ok(spec.paths['/api/events'], 'openapi lists /api/events');
  t.ok(spec.paths['/api/events/{id}/exclusion']);

  // the planted secret: not in any API answer, metrics, file or logs
  await (sink as unknown as { drain(): Promise<void> }).drain();
  const outputs = [JSON.stringify(all), JSON.stringify(one), metrics, readFileSync(file, 'utf8'), JSON.stringify(b.logs)];
  for (const [i, o] of outputs.entries()) t.notOk(o.includes(SECRET), `output #${i} has no secret`);
});

t.test('refuses a non-loopback admin bind without a token', async (t) => {
  await t.rejects(startTestBulwark({ admin: { listen: '0.0.0.0:0' } }), { code: 'WAF_ERR_CONFIG_INVALID', message: /without a token/ });
});
