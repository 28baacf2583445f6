/** Events through the whole proxy: block, detect (with backend status), rate-limit — their fields — and "allow this" from an event lets the same request pass. */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import type { WafEvent } from '../../src/types.ts';

const ADMIN = 'events-e2e-admin-token-0123456789';
const SECRET = 'e2e-Planted-S3cret-5521';

t.test('events for each decision kind, and an exclusion from an event', async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-ev-'));
  const b = await startTestBulwark({
    upstream: backend.origin,
    events: { file: { path: join(dir, 'events.jsonl') } },
    rateLimit: { policies: [{ name: 'one-per-minute', pathPrefix: '/limited', points: 1, durationSec: 60 }], global: null, attackBan: null },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] },
  });
  t.teardown(() => b.close());
  const api = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(b.adminUrl + path, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as T };
  };
  const attack = `/search?q=${encodeURIComponent("1' UNION SELECT password FROM users--").replace(/'/g, '%27')}`;
  const send = (path: string) => fetch(b.url + path, { headers: { accept: 'application/json', 'user-agent': 'e2e-agent/1', authorization: `Bearer ${SECRET}`, cookie: `sessionid=${SECRET}` } });
  const eventIdOf = async (res: Response) => ((await res.json()) as { error: { eventId: string } }).error.eventId;
  const waitEvent = async (id: string): Promise<WafEvent> => {
    for (let i = 0; i < 100; i++) {
      const r = await api<WafEvent>('GET', `/api/events/${id}`);
      if (r.status === 200) return r.json;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`event ${id} never appeared`);
  };

  // block
  const blocked = await send(attack);
  t.equal(blocked.status, 403);
  const blockId = await eventIdOf(blocked);
  const e = await waitEvent(blockId);
  t.match(e, { id: blockId, site: 'default', clientIp: '127.0.0.1', peer: '127.0.0.1', method: 'GET', url: attack, mode: 'block', action: 'block' });
  t.ok(e.score >= 5 && e.paranoia >= 1 && e.rulesetVersion >= 1, `score ${e.score}, PL ${e.paranoia}, ruleset v${e.rulesetVersion}`);
  t.ok(e.matches.some((m) => m.family === 'sqli' && m.target === 'args:q' && m.matched.length > 0 && m.value.length <= 257), JSON.stringify(e.matches));
  t.equal(e.headers['user-agent'], 'e2e-agent/1');
  t.equal(e.headers.authorization, '[redacted]');
  t.notOk(JSON.stringify(e).includes(SECRET));
  const countBefore = backend.count;

  // allow this: exclusion from the event, then the same request passes
  const dry = await api<{ exclusions: Array<{ rule: string; pathRegex: string; target: string }> }>('POST', `/api/events/${blockId}/exclusion`, { dryRun: true });
  t.ok(dry.json.exclusions.length >= 1);
  t.ok(dry.json.exclusions.every((x) => x.pathRegex === '^/search$'), 'scoped to the exact path');
  const made = await api<{ created: unknown[] }>('POST', `/api/events/${blockId}/exclusion`, {});
  t.equal(made.status, 201, JSON.stringify(made.json));
  const again = await send(attack);
  t.equal(again.status, 200, 'the same request passes after the exclusion');
  t.equal(backend.count, countBefore + 1, 'and reaches the backend');
  const elsewhere = await send(`/other?q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`);
  t.equal(elsewhere.status, 403, 'the same attack on another path is still blocked');

  // detect: switch the site to detect mode through the API; the attack is forwarded and the event carries the backend status
  t.equal((await api('PUT', '/api/modes/default', { mode: 'detect' })).status, 200);
  const detected = await send('/comment?text=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E');
  t.equal(detected.status, 200);
  let d: WafEvent | undefined;
  for (let i = 0; i < 100 && !d; i++) {
    d = (await api<{ events: WafEvent[] }>('GET', '/api/events?action=detect')).json.events[0];
    if (!d) await new Promise((r) => setTimeout(r, 50));
  }
  t.match(d, { action: 'detect', mode: 'detect', backendStatus: 200, site: 'default' });
  t.ok(d!.matches.some((m) => m.family === 'xss'));
  await api('PUT', '/api/modes/default', { mode: 'block' });

  // rate limit
  t.equal((await send('/limited/a')).status, 200);
  const limited = await send('/limited/a');
  t.equal(limited.status, 429);
  const rl = await waitEvent(await eventIdOf(limited));
  t.match(rl, { action: 'rate-limit', policy: 'one-per-minute', clientIp: '127.0.0.1', url: '/limited/a', matches: [] });

  // ban (through the bans API): refused with 403 and a ban event
  t.equal((await api('POST', '/api/bans', { ip: '127.0.0.1', seconds: 60, reason: 'e2e' })).status, 200);
  const banned = await send('/anything');
  t.equal(banned.status, 403);
  const ban = await waitEvent(await eventIdOf(banned));
  t.match(ban, { action: 'ban', clientIp: '127.0.0.1', url: '/anything', matches: [] });
  await api('DELETE', '/api/bans/127.0.0.1');

  // metrics saw them
  const metrics = await (await fetch(`${b.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  t.match(metrics, /bulwark_blocks_total\{family="sqli",signature="\d+"\} [1-9]/);
  t.match(metrics, /bulwark_detections_total\{family="xss",signature="\d+"\} 1/);
  t.match(metrics, /bulwark_ratelimit_decisions_total\{policy="one-per-minute",decision="rate-limit"\} 1/);
  t.match(metrics, /bulwark_requests_total\{site="default",verdict="block"\} 2/);
  t.match(metrics, /bulwark_requests_total\{site="default",verdict="ban"\} 1/);
  t.match(metrics, /bulwark_requests_total\{site="default",verdict="detect"\} 1/);
  t.match(metrics, /bulwark_requests_total\{site="default",verdict="rate-limit"\} 1/);
  t.match(metrics, /bulwark_ratelimit_decisions_total\{policy="[^"]*",decision="ban"\} 1/);
  t.match(metrics, /bulwark_inspection_duration_seconds_count [1-9]/);
  t.match(metrics, /bulwark_ruleset_version [2-9]/);
  t.match(metrics, /bulwark_store_reachable 1/);
  t.notOk(JSON.stringify(b.logs).includes(SECRET), 'no secret in the logs');
});
