import t from 'tap';
import { turnBatch } from '../../src/inspect/turn-batch.ts';

t.test('jobs queued by separate callbacks of one loop phase run back to back, after those callbacks', async (t) => {
  const batch = turnBatch();
  const order: string[] = [];
  const done: Array<Promise<unknown>> = [];
  // Two timers due together fire in one timers phase, each its own callback (microtasks run between them). Inspected
  // one at a time, each job would run inside its callback: timer 1, job 1, timer 2, job 2.
  await new Promise<void>((resolve) => {
    let fired = 0;
    for (const n of [1, 2]) {
      setTimeout(() => {
        order.push(`timer ${n}`);
        done.push(batch.run(() => order.push(`job ${n}`)).then(() => order.push(`after ${n}`)));
        if (++fired === 2) resolve();
      }, 1);
    }
  });
  await Promise.all(done);
  t.same(order, ['timer 1', 'timer 2', 'job 1', 'job 2', 'after 1', 'after 2']);
});

t.test('each caller gets its own job\'s result or error', async (t) => {
  const batch = turnBatch();
  const a = batch.run(() => 'a');
  const b = batch.run(() => {
    throw new Error('engine failed');
  });
  const c = batch.run(() => 42);
  t.equal(await a, 'a');
  await t.rejects(b, /engine failed/);
  t.equal(await c, 42);
});

t.test('a job never runs inside the call that queues it', async (t) => {
  const batch = turnBatch();
  let ran = false;
  const p = batch.run(() => {
    ran = true;
  });
  t.equal(ran, false);
  await p;
  t.equal(ran, true);
});

t.test('later turns get batches of their own; a job queued by a job runs in the next one', async (t) => {
  const batch = turnBatch();
  const order: string[] = [];
  let inner: Promise<unknown> | undefined;
  await batch.run(() => {
    order.push('first');
    inner = batch.run(() => order.push('queued by first'));
    order.push('first ends');
  });
  await inner;
  await batch.run(() => order.push('second turn'));
  t.same(order, ['first', 'first ends', 'queued by first', 'second turn']);
});

t.test('add: every job of a batch runs before any continuation; continuations run in order, each with its own result', async (t) => {
  const batch = turnBatch();
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    batch.add(() => (order.push('job 1'), 1), (err, r) => order.push(`then 1: ${String(err)} ${r}`));
    batch.add(() => {
      order.push('job 2');
      throw new Error('boom');
    }, (err, r) => order.push(`then 2: ${(err as Error).message} ${r}`));
    batch.add(() => {
      order.push('job 3');
      // eslint-disable-next-line no-throw-literal
      throw undefined;
    }, (err) => order.push(`then 3: ${err instanceof Error}`));
    batch.add(() => (order.push('job 4'), 4), (err, r) => {
      order.push(`then 4: ${String(err)} ${r}`);
      resolve();
    });
    t.same(order, [], 'nothing runs inside add');
  });
  t.same(order, ['job 1', 'job 2', 'job 3', 'job 4', 'then 1: undefined 1', 'then 2: boom undefined', 'then 3: true', 'then 4: undefined 4']);
});

t.test('add: a continuation that throws is reported, and the rest of its batch still goes on', async (t) => {
  const reported: unknown[] = [];
  const batch = turnBatch((err) => reported.push(err));
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    batch.add(() => 1, () => {
      order.push('then 1');
      throw new Error('continuation failed');
    });
    batch.add(() => 2, () => {
      order.push('then 2');
      resolve();
    });
  });
  t.same(order, ['then 1', 'then 2']);
  t.same(reported.map((e) => (e as Error).message), ['continuation failed']);
  // The batch's arrays are reused: the next turn starts empty.
  const next = await batch.run(() => 'next');
  t.equal(next, 'next');
});
