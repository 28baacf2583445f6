/** Two instances on one store: changes made through one go live on the other; refused changes change nothing; faults. */
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { MemoryRuleStore } from '../../src/store/memory-store.ts';
import { RedisRuleStore } from '../../src/store/redis-store.ts';
import type { RuleStore } from '../../src/store/store.ts';
import { LiveRuleset, type Logger } from '../../src/store/live-ruleset.ts';
import { RuleService } from '../../src/store/rule-service.ts';
import { addExclusion, pushSignatures, setEnabled, setMode } from '../../src/store/changes.ts';
import { makeSnapshot } from '../../src/store/snapshot.ts';
import { StoreError } from '../../src/store/errors.ts';
import { baseContent, LIBRARY, spec, tinyCompile, type TinyRuleset } from './fixtures.ts';
import { PROPAGATION_MS, propagationMs } from './propagation.ts';

const waitFor = async (pred: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!pred()) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 10)); }
};
const logs = () => {
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  return { lines, log };
};
const rejectsWith = async (t: Test, p: Promise<unknown>, code: string) => {
  const err = await p.then(() => null, (e: unknown) => e);
  t.ok(err instanceof StoreError, `refused with a StoreError (${(err as Error)?.message})`);
  t.equal((err as StoreError)?.code, code);
};

let redis: TestRedis;
let ns = 0;
t.before(async () => { redis = await startRedis(); });
t.teardown(async () => { await redis.stop(); });

const instance = async (store: RuleStore, log?: Logger) => {
  const live = new LiveRuleset<TinyRuleset>({ store, compile: tinyCompile, base: baseContent(), log, pollMs: 0, startWaitMs: 2000 });
  await live.start();
  return { live, rules: new RuleService(store, live, tinyCompile), close: async () => { await live.close(); await store.close(); } };
};

const setups: Array<[string, () => [RuleStore, RuleStore]]> = [
  ['memory', () => { const s = new MemoryRuleStore(); return [s, s]; }],
  ['redis', () => { const namespace = `live${++ns}`; const mk = () => new RedisRuleStore({ target: { url: redis.url }, namespace, maxBackoffMs: 200 }); return [mk(), mk()]; }],
];

for (const [kind, make] of setups) {
  t.test(`${kind}: two instances`, async (t) => {
    const [sa, sb] = make();
    const a = await instance(sa);
    const b = await instance(sb);
    t.teardown(async () => { await a.live.close(); await b.live.close(); await sa.close(); if (sb !== sa) await sb.close(); });
    await waitFor(() => a.live.live().version >= 1 && b.live.live().version === a.live.live().version);
    t.equal(a.live.live().version, 1, 'the empty store was seeded with the local library as version 1');
    t.same(b.live.current().match("1' union select 2", 'q'), [900100], 'both block the attack');

    t.test('disable through A takes effect on B within 1 s, and back', async (t) => {
      const r = await a.rules.apply((s) => setEnabled(s, 900100, false), 'alice');
      t.equal(r.version, 2);
      t.match(r.detail, /disabled 900100/);
      t.equal(a.live.live().version, 2, 'live on A at once');
      const ms = await propagationMs(b.live, r.version);
      t.ok(ms <= PROPAGATION_MS, `B runs version ${r.version} ${ms} ms after it was made (bound ${PROPAGATION_MS} ms)`);
      t.same(b.live.current().match("1' union select 2", 'q'), [], 'B no longer matches the disabled signature');
      const back = await b.rules.apply((s) => setEnabled(s, 900100, true), 'bob');
      const ms2 = await propagationMs(a.live, back.version);
      t.ok(ms2 <= PROPAGATION_MS, `A runs version ${back.version} ${ms2} ms after it was made`);
      t.same(a.live.current().match("1' union select 2", 'q'), [900100], 'A matches it again');
      t.equal(a.live.live().version, 3);
      const h = await sa.history(2);
      t.same(h.map((e) => [e.version, e.author, e.action]), [[3, 'bob', 'enable'], [2, 'alice', 'disable']]);
    });

    t.test('an exclusion through B takes effect on A', async (t) => {
      const r = await b.rules.apply((s) => addExclusion(s, { rule: '900200', target: 'args:comment' }), 'bob');
      await waitFor(() => a.live.live().version === r.version);
      t.same(a.live.current().match('<script>x', 'comment'), [], 'excluded for args:comment');
      t.same(a.live.current().match('<script>x', 'q'), [900200], 'still inspected in other args');
    });

    t.test('a broken pattern push is refused and nothing changes', async (t) => {
      const before = a.live.live().version;
      const bad = [...LIBRARY, spec(900400, '(unclosed')];
      await rejectsWith(t, a.rules.apply((s) => pushSignatures(s, bad), 'alice'), 'WAF_ERR_SIGNATURE_INVALID');
      t.equal(await sa.latestVersion(), before, 'no version written');
      await new Promise((r) => setTimeout(r, 100));
      t.equal(b.live.live().version, before);
      t.same(b.live.current().match("1' union select 2", 'q'), [900100], 'B keeps blocking');
      await rejectsWith(t, a.rules.apply((s) => setEnabled(s, 123, false), 'alice'), 'WAF_ERR_RULE_UNKNOWN');
      t.equal(await sa.latestVersion(), before, 'unknown id: no version written');
    });

    t.test('rollback writes the older content as a new version', async (t) => {
      const v = a.live.live().version;
      await a.rules.apply((s) => setMode(s, 'shop', 'detect'), 'alice');
      t.equal(a.live.modeFor('shop'), 'detect');
      const r = await b.rules.rollback('bob');
      t.equal(r.version, v + 2);
      await waitFor(() => a.live.live().version === v + 2);
      t.equal(a.live.modeFor('shop'), undefined, 'mode change rolled back on A');
      await rejectsWith(t, b.rules.rollback('bob', 999), 'WAF_ERR_VERSION_UNKNOWN');
    });

    t.test('a published version that does not compile is not installed', async (t) => {
      const { lines, log } = logs();
      const c = await instance(sb === sa ? sa : new RedisRuleStore({ target: { url: redis.url }, namespace: `live${ns}`, maxBackoffMs: 200 }), log);
      t.teardown(async () => { await c.live.close(); if (sb !== sa) await c.rules.store.close(); });
      const v = await sa.latestVersion();
      await waitFor(() => c.live.live().version === v);
      // Bypass the API's validation, as an old or foreign writer could.
      const broken = makeSnapshot({ ...baseContent(), signatures: [spec(900500, '[z-a]')] }, { version: v + 1, author: 'mallory', change: 'broken' });
      t.ok((await sa.commit(broken, { version: v + 1, at: broken.createdAt, author: 'mallory', action: 'push', detail: 'broken' }, v)).ok);
      await waitFor(() => lines.some((l) => l.startsWith('error') && l.includes(`version ${v + 1} refused`)));
      t.equal(c.live.live().version, v, 'previous version stays live');
      t.same(c.live.current().match("1' union select 2", 'q'), [900100]);
      t.match(c.live.status().lastError, /refused/);
    });
  });
}

t.test('redis lost while running, restarted empty: keep serving, re-seed, pick up changes', async (t) => {
  const r = await startRedis();
  const namespace = 'faults';
  const mk = () => new RedisRuleStore({ target: { url: r.url }, namespace, maxBackoffMs: 100 });
  const a = await instance(mk());
  const b = await instance(mk());
  t.teardown(async () => { await a.close(); await b.close(); await r.stop(); });
  await waitFor(() => a.live.live().version === 1 && b.live.live().version === 1);
  await a.rules.apply((s) => setEnabled(s, 900200, false), 'alice');
  await waitFor(() => b.live.live().version === 2);

  await r.kill();
  await waitFor(() => !a.live.status().storeReachable && !b.live.status().storeReachable);
  t.same(b.live.current().match("1' union select 2", 'q'), [900100], 'still inspecting with the last snapshot');
  t.same(b.live.current().match('<script>', 'q'), [], 'and with its overrides');
  await rejectsWith(t, a.rules.apply((s) => setEnabled(s, 900100, false), 'alice'), 'WAF_ERR_STORE_UNAVAILABLE');
  t.equal(a.live.live().version, 2, 'a change that could not be stored is not applied locally');

  await r.start();
  await waitFor(() => a.live.status().storeReachable && b.live.status().storeReachable);
  const store = a.rules.store;
  // Reachable is announced before the re-seed is written: wait for the seed itself.
  let latest = 0;
  for (const end = Date.now() + 5000; latest === 0 && Date.now() < end; await new Promise((res) => setTimeout(res, 20))) latest = await store.latestVersion().catch(() => 0);
  t.equal(latest, 2, 'the empty server was re-seeded with the live version');
  t.equal((await store.load())?.overrides['900200']?.enabled, false, 're-seeded content carries the overrides');
  const ch = await a.rules.apply((s) => setEnabled(s, 900100, false), 'alice');
  await waitFor(() => b.live.live().version === ch.version);
  t.same(b.live.current().match("1' union select 2", 'q'), [], 'B picked up the change made after the restart');
});

t.test('a version published while only the subscription was down is picked up when it comes back', async (t) => {
  const r = await startRedis();
  const namespace = 'subgap';
  const mk = () => new RedisRuleStore({ target: { url: r.url }, namespace, maxBackoffMs: 100 });
  const a = await instance(mk());
  const b = await instance(mk());
  const admin = new Redis(r.url, { lazyConnect: true });
  await admin.connect();
  t.teardown(async () => { admin.disconnect(); await a.close(); await b.close(); await r.stop(); });
  await waitFor(() => a.live.live().version === 1 && b.live.live().version === 1);
  // Drop only the subscriber connections (the main ones stay up, so no reconnect of theirs triggers a sync), then
  // publish at once: ioredis waits 50 ms before its first retry, so B's subscriber is not listening when it goes out.
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  const ch = await a.rules.apply((s) => setEnabled(s, 900200, false), 'alice');
  await waitFor(() => b.live.live().version === ch.version, 5000);
  t.equal(b.live.live().version, ch.version, 'B synced once its subscription was back (no polling in this test)');
});

t.test('memory store without any server: starts from the base library', async (t) => {
  const a = await instance(new MemoryRuleStore());
  t.teardown(() => a.close());
  await waitFor(() => a.live.live().version === 1);
  t.same(a.live.status(), { ...a.live.status(), version: 1, store: 'memory', storeReachable: true, lastError: null });
});
