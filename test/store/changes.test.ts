/** Pure rule changes: overrides collapse back to the library, exclusion validation, pushes, diffs; and Redis client construction. */
import t from 'tap';
import { Cluster, Redis } from 'ioredis';
import { addExclusion, diffSignatures, exclusionProblems, pushSignatures, removeExclusion, setEnabled, setMode, setRule } from '../../src/store/changes.ts';
import { createRedisClient, backoff } from '../../src/store/redis-client.ts';
import { redisTarget } from '../../src/store/setup.ts';
import { storeKeys, snapshotKey } from '../../src/store/keys.ts';
import { baseContent, LIBRARY, spec } from './fixtures.ts';

t.test('enable after disable leaves no override behind', async (t) => {
  const off = setEnabled(baseContent(), 900100, false);
  t.same(off.content.overrides, { 900100: { enabled: false } });
  const on = setEnabled(off.content, 900100, true);
  t.same(on.content.overrides, {});
  t.same(baseContent().overrides, {}, 'input not mutated');
});

t.test('set: a value equal to the library clears that part of the override', async (t) => {
  const a = setRule(baseContent(), 900300, { paranoia: 1 });
  t.same(a.content.overrides, { 900300: { paranoia: 1 } });
  const b = setRule(a.content, 900300, { paranoia: 2, severity: 'notice' });
  t.same(b.content.overrides, { 900300: { severity: 'notice' } });
  t.throws(() => setRule(baseContent(), 900300, { paranoia: 0 }), { code: 'WAF_ERR_RULE_INVALID' });
  t.throws(() => setRule(baseContent(), 1, { paranoia: 1 }), { code: 'WAF_ERR_RULE_UNKNOWN' });
});

t.test('exclusion validation names every problem', async (t) => {
  const c = baseContent();
  t.same(exclusionProblems(c, { rule: 'family:sqli', pathPrefix: '/search', target: 'args:q' }), []);
  t.same(exclusionProblems(c, { rule: 'tag:attack-xss', cidrs: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'] }), []);
  t.same(exclusionProblems(c, { rule: '*', site: 'intranet' }), []);
  const p = exclusionProblems(c, { rule: 'family:nope', pathPrefix: 'x', pathRegex: '(', target: 'args q', site: 'bad site', cidrs: ['300.1.1.1'] });
  t.equal(p.length, 6, p.join('\n'));
  t.throws(() => addExclusion(c, { rule: 'tag:none' }), { code: 'WAF_ERR_EXCLUSION_INVALID' });
  const added = addExclusion(c, { rule: '900100', pathPrefix: '/a' });
  t.equal(added.content.exclusions.length, 1);
  t.match(added.content.exclusions[0].id, /^ex-[0-9a-f]{8}$/);
  t.throws(() => removeExclusion(c, 'ex-x'), { code: 'WAF_ERR_EXCLUSION_UNKNOWN' });
  t.equal(removeExclusion(added.content, added.content.exclusions[0].id).content.exclusions.length, 0);
});

t.test('push and diff', async (t) => {
  const withOv = setEnabled(baseContent(), 900300, false).content;
  const next = [LIBRARY[0], { ...LIBRARY[1], pattern: '<script\\b' }, spec(900900, 'x')];
  t.same(diffSignatures(LIBRARY, next), { added: [900900], removed: [900300], changed: [900200] });
  const r = pushSignatures(withOv, next);
  t.same(r.content.overrides, {}, 'override of a removed id dropped');
  t.match(r.detail, /1 added \(900900\), 1 removed \(900300\), 1 changed \(900200\); dropped 1 override/);
  t.throws(() => pushSignatures(baseContent(), []), { code: 'WAF_ERR_SIGNATURE_INVALID' });
  t.throws(() => setMode(baseContent(), 'shop', 'maybe'), { code: 'WAF_ERR_MODE_INVALID' });
});

t.test('keys share one hash tag (one Cluster slot per namespace)', async (t) => {
  const k = storeKeys('acme');
  for (const key of [k.version, k.versions, k.audit, snapshotKey(k, 42)]) t.match(key, /^\{acme\}:/);
});

t.test('redis targets from config and client construction (no connection is made)', async (t) => {
  t.equal(redisTarget({}), null, 'no redis section → memory');
  t.same(redisTarget({ url: 'redis://127.0.0.1:6379' }), { url: 'redis://127.0.0.1:6379' });
  t.throws(() => redisTarget({ sentinels: [{ host: '127.0.0.1', port: 26379 }] }), /redis.name/);
  const sentinel = createRedisClient(redisTarget({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' })!);
  t.ok(sentinel instanceof Redis);
  t.equal((sentinel as Redis).options.name, 'mymaster');
  t.equal((sentinel as Redis).status, 'wait', 'lazy: not connecting');
  const cluster = createRedisClient(redisTarget({ cluster: ['127.0.0.1:7000', { host: '127.0.0.1', port: 7001 }] })!);
  t.ok(cluster instanceof Cluster);
  t.equal(cluster.status, 'wait');
  t.equal(cluster.options.enableOfflineQueue, false, 'fails fast while down');
  sentinel.disconnect(); cluster.disconnect();
  const b = backoff(2000);
  t.same([1, 2, 3, 10, 100].map(b), [50, 100, 200, 2000, 2000]);
});
