/** setupRules: memory without a redis section, Redis with one; unreachable Redis at start serves the base and says so. */
import t from 'tap';
import { startRedis } from '../helpers/redis.ts';
import { setupRules, baseContent as fromConfig } from '../../src/store/setup.ts';
import type { Logger } from '../../src/store/live-ruleset.ts';
import { LIBRARY, tinyCompile } from './fixtures.ts';

const logger = () => {
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  return { lines, log };
};

t.test('base content takes exclusions and rate policies from the config', async (t) => {
  const c = fromConfig(LIBRARY, { inspection: { exclusions: [{ id: 'cfg-1', rule: '900100', pathPrefix: '/x' }] }, rateLimit: { policies: [{ name: 'p', key: 'ip', points: 1, durationSec: 1 }] } });
  t.equal(c.exclusions.length, 1);
  t.equal(c.ratePolicies.length, 1);
  t.same(fromConfig(LIBRARY, {}).exclusions, []);
});

t.test('no redis section: memory store, ready', async (t) => {
  const { log } = logger();
  const r = await setupRules({ base: fromConfig(LIBRARY, {}), compile: tinyCompile, log });
  t.teardown(() => r.close());
  t.equal(r.store.kind, 'memory');
  t.equal(r.live.live().version, 1);
  t.match(r.readiness.check(), { ok: true, detail: { version: 1, store: 'memory', storeReachable: true } });
});

t.test('redis down at start: serves signatures/ + config, warns, then loads once it is up', async (t) => {
  const redis = await startRedis();
  await redis.kill();
  const { lines, log } = logger();
  const r = await setupRules({ redis: { url: redis.url, maxBackoffMs: 100, pollMs: 200 }, base: fromConfig(LIBRARY, {}), compile: tinyCompile, log });
  t.teardown(async () => { await r.close(); await redis.stop(); });
  t.equal(r.store.kind, 'redis');
  t.equal(r.live.live().version, 0, 'serving the local library');
  t.same(r.live.current().match('union select'), [900100], 'and inspecting with it');
  t.match(r.readiness.check(), { ok: true, detail: { version: 0, store: 'redis', storeReachable: false } });
  t.ok(lines.some((l) => /^warn .*unreachable at start/.test(l)), lines.join('\n'));
  await redis.start();
  const end = Date.now() + 5000;
  while (r.live.live().version === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
  t.equal(r.live.live().version, 1, 'seeded the store and runs version 1');
  t.equal(r.live.status().storeReachable, true);
});
