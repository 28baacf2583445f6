/** Real traffic through the proxy with a real redis-server killed mid-run: every refused request is exactly one event in the shared stream. */
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const SECRET = 'Pl4nted-Secret-e2e-90817';
const TOKEN = 'e2e-viewer-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('Redis killed mid-run then restarted: stream holds one event per refused request', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-events-'));
  const file = join(dir, 'events.jsonl');
  const b = await startTestBulwark({
    upstream: backend.origin,
    redis: { url: redis.url, namespace: 'e2e', maxBackoffMs: 100 },
    events: { file: { path: file } },
    rateLimit: { policies: [{ name: 'tight', pathPrefix: '/limited', points: 1, durationSec: 300 }], global: null, attackBan: null },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'viewer', token: TOKEN, role: 'viewer' }] },
  });
  t.teardown(() => b.close());
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on('error', () => {});
  t.teardown(() => probe.disconnect());
  await probe.connect();

  const refusedIds: string[] = [];
  let refused = 0;
  let passed = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${b.url}/limited/login?token=${SECRET}`, { headers: { accept: 'application/json', authorization: `Bearer ${SECRET}`, cookie: `sessionid=${SECRET}` } });
      const body = await res.text();
      if (res.status === 429 || res.status === 403) {
        refused++;
        const id = (JSON.parse(body) as { error?: { eventId?: string } }).error?.eventId;
        if (id) refusedIds.push(id);
        t.notOk(body.includes(SECRET), 'refusal page does not echo the secret');
      } else passed++;
    }
  };

  await send(10);
  t.ok(refused >= 9, `refused after the first (${refused})`);
  const xlen = () => (probe.status === 'ready' ? probe.xlen('{e2e}:events') : Promise.resolve(-1));
  const until = async (fn: () => Promise<boolean>) => { for (let i = 0; i < 150 && !(await fn()); i++) await sleep(100); return fn(); };
  t.ok(await until(async () => (await xlen()) === refused), 'before the outage: one stream entry per refusal');
  const beforeKill = refused;

  await redis.kill();
  await send(15);
  await sleep(200);
  await redis.start();
  await probe.connect().catch(() => {});
  await send(5);
  t.equal(refusedIds.length, refused, 'every refusal names its event id');
  const sinceKill = refusedIds.slice(beforeKill);

  // The restarted server is empty: the sink replays its queue (the outage) and keeps writing (after).
  t.ok(await until(async () => (await xlen()) === sinceKill.length), `after the restart the stream holds the ${sinceKill.length} refusals since the kill`);
  const entries = async () => ((await probe.xrange('{e2e}:events', '-', '+')) as Array<[string, string[]]>).map(([, f]) => JSON.parse(f[f.indexOf('e') + 1]) as { id: string; action: string; policy?: string; clientIp: string; url: string });
  let inStream = await entries();
  t.same(inStream.map((e) => e.id).sort(), [...sinceKill].sort(), 'exactly those events, none twice');
  t.ok(inStream.every((e) => e.action === 'rate-limit' && e.policy === 'tight' && e.clientIp === '127.0.0.1' && e.url.startsWith('/limited/login')), 'fields of the rate-limit decision');

  // The entries that went with the killed dataset are still in the file: an instance started on it replays them, idempotently.
  const b2 = await startTestBulwark({ upstream: backend.origin, redis: { url: redis.url, namespace: 'e2e' }, events: { file: { path: file } } });
  t.ok(await until(async () => (await xlen()) === refused), 'replaying the file restores the lost ones');
  await sleep(300);
  await b2.close();
  inStream = await entries();
  t.equal(inStream.length, refused, `stream count (${inStream.length}) == refused requests sent (${refused}); ${passed} passed`);
  t.equal(new Set(inStream.map((e) => e.id)).size, refused, 'no duplicates after the replay');
  t.same(inStream.map((e) => e.id).sort(), [...refusedIds].sort(), 'the stream holds exactly the refused requests');

  // No secret anywhere: stream, file, API, logs
  const api = await (await fetch(`${b.adminUrl}/api/events?limit=1000`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  await (b.running.services.events as unknown as { drain(): Promise<void> }).drain();
  const all = { stream: JSON.stringify(await probe.xrange('{e2e}:events', '-', '+')), file: readFileSync(file, 'utf8'), api, logs: JSON.stringify(b.logs) };
  for (const [where, text] of Object.entries(all)) t.notOk(text.includes(SECRET), `no secret in the ${where}`);
  t.match(api, /token=\[redacted\]/);
});
