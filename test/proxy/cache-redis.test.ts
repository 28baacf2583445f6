// The response cache in Redis (REDIS_URL set): a response cached through instance A is a HIT on instance B; purge through
// one clears both; entries carry a TTL and a size cap; Redis killed → MISS from the backend (no 5xx); back → HITs again.
import t from 'tap';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import { startRedis } from '../helpers/redis.ts';
import { decodeEntry, encodeEntry } from '../../src/proxy/cache-redis.ts';

t.test('entry encoding round trip', async (t) => {
  const e = { status: 203, headers: { 'content-type': 'text/plain', vary: 'accept-language' }, body: Buffer.from([0, 1, 2, 255]), storedAt: 1, expiresAt: 2, vary: ['accept-language'], varyValues: ['fr'], size: 0 };
  const d = decodeEntry(encodeEntry(e));
  t.match(d, { status: 203, headers: e.headers, storedAt: 1, expiresAt: 2, vary: ['accept-language'], varyValues: ['fr'] });
  t.same(d!.body, e.body);
  t.equal(decodeEntry(Buffer.from([0, 0, 0, 9, 1])), null, 'truncated blob → null');
});

t.test('two instances share the cache through Redis', async (t) => {
  const redis = await startRedis();
  let n = 0;
  const backend = await startBackend((req, res) => {
    n++;
    const u = req.url ?? '';
    const headers: Record<string, string> = { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' };
    if (u.startsWith('/vary')) headers.vary = 'Accept-Language';
    res.writeHead(200, headers);
    res.end(u.startsWith('/big') ? 'x'.repeat(20_000) : `n=${n} lang=${req.headers['accept-language'] ?? ''}`);
  });
  const cfg = { ...PROXY_ONLY, redis: { url: redis.url }, sites: [{ name: 'app', hosts: ['*'], upstream: backend.origin, cache: { maxEntryBytes: 10_000 } }] };
  const a = await startTestBulwark(cfg);
  const b = await startTestBulwark(cfg);
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  await probe.connect();
  t.teardown(async () => {
    probe.disconnect();
    await a.close();
    await b.close();
    await backend.close();
    await redis.stop();
  });
  const get = async (base: string, path: string, headers: Record<string, string> = {}) => {
    const started = Date.now();
    // The same Host on both instances, as behind a load balancer (the Host is part of the cache key).
    const r = await request(base + path, { headers: { host: 'shop.test', ...headers } });
    return { status: r.statusCode, cache: r.headers['x-cache'], body: await r.body.text(), ms: Date.now() - started };
  };
  /** Poll until `path` is a HIT on `base` (the store is written after the response went out). */
  const hitOn = async (base: string, path: string, headers: Record<string, string> = {}) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await get(base, path, headers);
      if (r.cache === 'HIT' || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  /** Poll Redis until an entry for `path` exists (A writes it after its response went out). */
  const storedCount = async () => (await probe.keys('{bulwark}:cache:e:*')).length;
  const waitStored = async (count: number) => {
    const deadline = Date.now() + 15_000;
    while ((await storedCount()) < count && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
  };
  const first = await get(a.url, '/page');
  t.equal(first.cache, 'MISS');
  const before = n;
  await waitStored(1);
  const onB = await get(b.url, '/page');
  t.equal(onB.cache, 'HIT', 'cached through A, served by B');
  t.equal(onB.body, first.body);
  t.equal(n, before, 'B did not ask the backend');
  const keys = await probe.keys('{bulwark}:cache:e:*');
  t.ok(keys.length >= 1);
  const ttl = await probe.pttl(keys[0]);
  t.ok(ttl > 0 && ttl <= 60_000, `entry has a TTL (${ttl} ms)`);

  // Vary: one entry per variant, shared too.
  await get(a.url, '/vary', { 'accept-language': 'fr' });
  t.match((await hitOn(b.url, '/vary', { 'accept-language': 'fr' })).body, /lang=fr/);
  const en = await get(b.url, '/vary', { 'accept-language': 'en' });
  t.equal(en.cache, 'MISS', 'another variant is a miss');
  t.match((await hitOn(a.url, '/vary', { 'accept-language': 'en' })).body, /lang=en/);

  // Size cap per entry: above maxEntryBytes never stored.
  await get(a.url, '/big');
  await new Promise((res) => setTimeout(res, 200));
  t.equal((await get(b.url, '/big')).cache, 'MISS', 'too big to store');

  // Purge through A clears what B serves.
  const purge = await fetch(`${a.adminUrl}/api/cache?path=/page`, { method: 'DELETE' });
  t.equal(purge.status, 200);
  t.same(await purge.json(), { path: '/page', purged: 1 }, 'one key: /page (every variant of it)');
  t.equal((await get(b.url, '/page')).cache, 'MISS', 'purged for B too');
  t.equal((await hitOn(a.url, '/page')).cache, 'HIT', 'stored again by the miss');

  // Redis dies: every request is a MISS served by the backend, quickly, no 5xx; purge answers 503.
  await redis.kill();
  for (const base of [a.url, b.url]) {
    for (let i = 0; i < 3; i++) {
      const r = await get(base, '/page');
      t.equal(r.status, 200, 'no error while Redis is down');
      t.equal(r.cache, 'MISS');
      t.ok(r.ms < 3000, `answered in ${r.ms} ms`);
    }
  }
  t.equal((await fetch(`${a.adminUrl}/api/cache?path=/page`, { method: 'DELETE' })).status, 503, 'purge says the shared cache is unreachable');
  t.ok(a.logs.some((l) => String(l.msg).startsWith('cache: Redis')), 'warned');

  // Redis back (empty): the cache works again after the clients reconnect.
  await redis.start();
  const back = await (async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await get(a.url, '/page');
      const r = await get(b.url, '/page');
      if (r.cache === 'HIT' || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  t.equal(back.cache, 'HIT', 'shared again once Redis is back');
});
