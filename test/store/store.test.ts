/** The RuleStore contract, run against the memory store and a real redis-server. */
import t from 'tap';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { MemoryRuleStore } from '../../src/store/memory-store.ts';
import { RedisRuleStore } from '../../src/store/redis-store.ts';
import type { RuleStore } from '../../src/store/store.ts';
import { makeSnapshot } from '../../src/store/snapshot.ts';
import { StoreError } from '../../src/store/errors.ts';
import { baseContent } from './fixtures.ts';

const snap = (version: number, author = 'alice') => makeSnapshot(baseContent(), { version, author, change: `v${version}` });
const audit = (version: number, author = 'alice') => ({ version, at: new Date().toISOString(), author, action: 'test', detail: `v${version}` });
const waitFor = async (pred: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!pred()) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 20)); }
};

let redis: TestRedis;
let ns = 0;
t.before(async () => { redis = await startRedis(); });
t.teardown(async () => { await redis.stop(); });

const kinds: Array<[string, () => RuleStore]> = [
  ['memory', () => new MemoryRuleStore({ keepVersions: 3 })],
  ['redis', () => new RedisRuleStore({ target: { url: redis.url }, namespace: `t${++ns}`, keepVersions: 3, maxBackoffMs: 200 })],
];

for (const [kind, make] of kinds) {
  t.test(`${kind} store`, async (t) => {
    const connected = async (s: RuleStore) => { await s.start(); await waitFor(() => s.status().reachable); return s; };

    t.test('empty store, conditional commits, loads are copies', async (t) => {
      const s = await connected(make());
      t.teardown(() => s.close());
      t.equal(await s.latestVersion(), 0);
      t.equal(await s.load(), null);
      t.same(await s.commit(snap(1), audit(1), 0), { ok: true, version: 1 });
      t.same(await s.commit(snap(2), audit(2), 0), { ok: false, current: 1 }, 'a stale base is refused');
      t.equal(await s.latestVersion(), 1, 'the refused write changed nothing');
      const a = await s.load();
      t.equal(a?.version, 1);
      t.equal(a?.signatures.length, 3);
      a!.signatures.pop();
      t.equal((await s.load(1))?.signatures.length, 3, 'mutating a loaded snapshot does not touch the store');
    });

    t.test('keeps the last N versions and an audit trail, newest first', async (t) => {
      const s = await connected(make());
      t.teardown(() => s.close());
      for (let v = 1; v <= 5; v++) t.ok((await s.commit(snap(v, v % 2 ? 'alice' : 'bob'), audit(v, v % 2 ? 'alice' : 'bob'), v - 1)).ok);
      t.same(await s.versions(), [5, 4, 3]);
      t.equal(await s.load(2), null, 'version 2 was trimmed');
      t.equal((await s.load(3))?.version, 3);
      const h = await s.history(2);
      t.same(h.map((e) => [e.version, e.author]), [[5, 'alice'], [4, 'bob']]);
    });

    t.test('a commit is published to subscribers', async (t) => {
      const s = await connected(make());
      t.teardown(() => s.close());
      const seen: number[] = [];
      s.onPublished((v) => seen.push(v));
      await new Promise((r) => setTimeout(r, 100)); // subscription settles
      await s.commit(snap(1), audit(1), 0);
      await waitFor(() => seen.includes(1));
      t.same(seen, [1]);
    });
  });
}

t.test('redis: separate instances see each other through one server', async (t) => {
  const namespace = `shared${++ns}`;
  const a = new RedisRuleStore({ target: { url: redis.url }, namespace });
  const b = new RedisRuleStore({ target: { url: redis.url }, namespace });
  t.teardown(async () => { await a.close(); await b.close(); });
  await a.start(); await b.start();
  await waitFor(() => a.status().reachable && b.status().reachable);
  const seen: number[] = [];
  b.onPublished((v) => seen.push(v));
  await new Promise((r) => setTimeout(r, 100));
  await a.commit(snap(1), audit(1), 0);
  await waitFor(() => seen.includes(1));
  t.equal((await b.load())?.author, 'alice');
});

t.test('redis: unreachable at start, then reachable', async (t) => {
  const r2 = await startRedis();
  await r2.kill();
  const s = new RedisRuleStore({ target: { url: r2.url }, namespace: 'late', maxBackoffMs: 100 });
  t.teardown(async () => { await s.close(); await r2.stop(); });
  let reconnects = 0;
  s.onReconnect(() => reconnects++);
  await s.start();
  t.equal(s.status().reachable, false);
  const err = await s.latestVersion().then(() => null, (e: unknown) => e);
  t.ok(err instanceof StoreError, 'a StoreError, not a hang');
  t.match(err, { code: 'WAF_ERR_STORE_UNAVAILABLE', status: 503 });
  await r2.start();
  await waitFor(() => s.status().reachable);
  t.ok(reconnects >= 1, 'reconnect is announced');
  t.equal(await s.latestVersion(), 0);
  t.equal(s.status().lastError, null);
});
