import t from 'tap';
import { Redis } from 'ioredis';
import { startRedis } from './redis.ts';

t.test('starts, kills and restarts a private redis-server', async (t) => {
  const r = await startRedis();
  t.teardown(() => r.stop());
  const c = new Redis(r.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await c.connect();
  t.equal(await c.ping(), 'PONG');
  c.disconnect();
  await r.kill();
  await r.start();
  const c2 = new Redis(r.url, { lazyConnect: true });
  await c2.connect();
  t.equal(await c2.ping(), 'PONG');
  c2.disconnect();
});
