/** The Redis store through Redis Sentinel (a real redis-server plus a real sentinel started by the test). */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, freePort } from '../helpers/redis.ts';
import { RedisRuleStore } from '../../src/store/redis-store.ts';
import { redisTarget } from '../../src/store/setup.ts';
import { makeSnapshot } from '../../src/store/snapshot.ts';
import { baseContent } from './fixtures.ts';

t.test('sentinel', async (t) => {
  const master = await startRedis();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  t.teardown(async () => { sentinel.kill('SIGKILL'); await master.stop(); });

  const target = redisTarget({ sentinels: [{ host: '127.0.0.1', port }], name: 'mymaster' })!;
  const a = new RedisRuleStore({ target, maxBackoffMs: 200 });
  const b = new RedisRuleStore({ target, maxBackoffMs: 200 });
  t.teardown(async () => { await a.close(); await b.close(); });
  await a.start(); await b.start();
  const end = Date.now() + 10_000;
  while (!(a.status().reachable && b.status().reachable) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  t.ok(a.status().reachable, 'connected to the master found through the sentinel');
  const seen: number[] = [];
  b.onPublished((v) => seen.push(v));
  await new Promise((r) => setTimeout(r, 200));
  const s = makeSnapshot(baseContent(), { version: 1, author: 'alice', change: 'v1' });
  t.same(await a.commit(s, { version: 1, at: s.createdAt, author: 'alice', action: 't', detail: 'v1' }, 0), { ok: true, version: 1 });
  while (!seen.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.same(seen, [1]);
  t.equal((await b.load())?.author, 'alice');
});
