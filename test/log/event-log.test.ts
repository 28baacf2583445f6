import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.ts';
import { createEventLog } from '../../src/log/index.ts';
import { JsonlFile } from '../../src/log/jsonl-file.ts';
import { newEventId } from '../../src/log/event.ts';
import { plantedEvent, SECRET } from './fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn: () => Promise<boolean> | boolean, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(50);
  }
  return false;
}

t.test('JSONL file rotates by size and keeps maxFiles', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-jsonl-'));
  const f = new JsonlFile({ path: join(dir, 'events.jsonl'), maxBytes: 4096, maxFiles: 2 });
  for (let i = 0; i < 300; i++) f.append({ i, pad: 'x'.repeat(40) });
  await f.flush();
  const files = readdirSync(dir).sort();
  t.same(files, ['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
  for (const name of files) t.ok(statSync(join(dir, name)).size <= 4096, `${name} within the cap`);
  const got: number[] = [];
  for await (const r of f.records()) got.push((r as { i: number }).i);
  t.ok(got.length > 0 && got.length < 300, 'older records rotated away');
  t.equal(got[got.length - 1], 299, 'newest kept');
  t.same(got, [...got].sort((a, b) => a - b), 'in order');
});

t.test('Redis killed mid-run then restarted: stream count == events recorded, no duplicates, secrets nowhere', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-events-'));
  const path = join(dir, 'events.jsonl');
  const warnings: string[] = [];
  const logger = { warn: (_o: object, m: string) => warnings.push(m), info: (_o: object, m: string) => warnings.push(m) };
  const { log } = await createEventLog({ events: { file: { path }, stream: { maxLen: 100_000, maxAge: '1d' } }, redis: { url: redis.url, namespace: 't1' } }, logger);
  t.teardown(() => log.close());
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on('error', () => {});
  t.teardown(() => probe.disconnect());
  await probe.connect();

  const ids: string[] = [];
  const send = (n: number) => {
    for (let i = 0; i < n; i++) {
      const e = plantedEvent({ id: newEventId() }, ids.length);
      ids.push(e.id);
      log.record(e);
    }
  };
  send(50);
  t.ok(await waitFor(async () => (await probe.xlen('{t1}:events')) === 50), 'first 50 in the stream');

  await redis.kill();
  t.ok(await waitFor(() => log.stats().stream === 'down'), 'sink notices Redis is down');
  send(70);
  t.equal(log.stats().pending, 70, 'queued while down');
  // record() does not wait for Redis: it returns nothing (no promise) and the event is queued before it returns.
  const returned: unknown = (log.record as (e: unknown) => unknown)(plantedEvent({ id: newEventId() }));
  ids.push('extra');
  t.equal(returned, undefined, 'record() returns no promise');
  t.equal(log.stats().pending, 71, 'queued synchronously, before any await');
  const local = await log.search({}, 1000);
  t.equal(local.source, 'local');
  t.equal(local.events.length, 121, 'ring serves queries while Redis is down');

  await redis.start();
  await probe.connect().catch(() => {});
  // The restarted server is empty: the replay must bring back what was queued (the first 50 were lost with the dataset).
  t.ok(await waitFor(async () => probe.status === 'ready' && (await probe.xlen('{t1}:events')) === 71, 15_000), 'queued events replayed');
  // The stream can show the batch before the writer has counted its reply: wait for the queue to drain, then check.
  await waitFor(async () => log.stats().pending === 0, 5_000);
  t.equal(log.stats().pending, 0);

  // Replay the same events again (as after a half-acknowledged batch or a restart): nothing is duplicated.
  const again = await log.recent();
  t.equal(again.source, 'stream');
  const stream = (log as unknown as { opts: { stream: { add(e: unknown[]): Promise<number> } } }).opts.stream;
  t.equal(await stream.add(again.events), 0, 'known ids add nothing');
  t.equal(await probe.xlen('{t1}:events'), 71);

  await log.drain();
  const fileText = readFileSync(path, 'utf8');
  t.equal(fileText.trim().split('\n').length, 121, 'every event in the file');
  t.notOk(fileText.includes(SECRET), 'no secret in the file');
  const rows = (await probe.xrange('{t1}:events', '-', '+')) as Array<[string, string[]]>;
  t.notOk(JSON.stringify(rows).includes(SECRET), 'no secret in the stream');
  const one = await log.get(ids[100]);
  t.equal(one?.id, ids[100]);
  t.ok(warnings.some((w) => /unreachable|not reachable/.test(w)), 'the outage was logged');
});

t.test('without Redis: file + ring; a restart reads the file back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-events-'));
  const path = join(dir, 'events.jsonl');
  const a = await createEventLog({ events: { file: { path } }, redis: {} });
  for (let i = 0; i < 5; i++) a.log.record(plantedEvent({ id: newEventId() }, i));
  await a.log.close();
  const b = await createEventLog({ events: { file: { path } }, redis: {} });
  t.teardown(() => b.log.close());
  const r = await b.log.search({ rule: 942100 }, 100);
  t.equal(r.source, 'local');
  t.equal(r.events.length, 5);
  t.equal(b.log.stats().stream, 'none');
});

t.test('bad events config is refused with its path', async (t) => {
  await t.rejects(createEventLog({ events: { stream: { maxAge: 'forever' } }, redis: {} }), { code: 'WAF_ERR_CONFIG_INVALID', message: /events\.stream\.maxAge/ });
  await t.rejects(createEventLog({ events: { redact: { patterns: ['(('] } }, redis: {} }), { message: /events\.redact\.patterns\.0/ });
});

t.test('a detect event waits for its backend status (bounded), a block event does not', async (t) => {
  const { log } = await createEventLog({ events: { file: false }, redis: {} });
  const detect = plantedEvent({ id: newEventId(), action: 'detect', mode: 'detect' });
  log.record(detect);
  t.equal(log.ring.length, 0, 'held until the response is done');
  log.record(plantedEvent({ id: newEventId() }));
  t.equal(log.ring.length, 1, 'block recorded at once');
  log.complete(detect.id, 201);
  t.equal((await log.get(detect.id))?.backendStatus, 201);
  const orphan = plantedEvent({ id: newEventId(), action: 'detect', mode: 'detect' });
  log.record(orphan);
  await log.close();
  t.ok(await log.get(orphan.id), 'close records waiting events without a status');
});
