// Inspection threads by body size (src/inspect/inspection-lanes.ts), with real worker threads: a request whose body
// reaches the limit goes to the large-body thread, every other to the small one, so a large body that takes long (here:
// held without an answer) holds up no small request; the large-body thread starts with the first large body and then
// compiles each ruleset ahead like the other; the limit is exact.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { compileRuleset, type InspectContext } from '../../src/inspect/engine.ts';
import { InspectionLanes } from '../../src/inspect/inspection-lanes.ts';
import { spawnInspectionWorker } from '../../src/inspect/inspection-thread.ts';
import { jobOf } from '../../src/inspect/thread-wire.ts';
import type { RequestInput, Verdict } from '../../src/types.ts';
import { usableLibrary } from '../helpers/library-examples.ts';

const log = { error: () => undefined, warn: () => undefined };
const lib = usableLibrary();
const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
const LIMIT = 1024;

/** A worker that compiles nothing, answers `ready`, and never answers a batch: a large body that takes very long. */
const holding = () => new Worker(`
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (m) => { if (m.t === 'ruleset') parentPort.postMessage({ t: 'ready', key: m.key }); });`, { eval: true });

const post = (body: string): RequestInput => ({ method: 'POST', url: '/api', httpVersion: '1.1', headers: [['Host', 'a.example'], ['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from(body) });
const sqli = `id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`;

function inspect(lanes: InspectionLanes, rs: ReturnType<typeof compileRuleset>, input: RequestInput) {
  let settled = false;
  const done = new Promise<{ err?: Error; verdict?: Verdict }>((resolve) =>
    lanes.inspect(rs, jobOf(input, input.headers.flat(), ctx), (err, verdict) => { settled = true; resolve({ err, verdict }); }));
  return { done, settled: () => settled };
}

t.test('a large body held in its thread: small requests are still inspected and answered meanwhile', async (t) => {
  const lanes = new InspectionLanes({ log, largeFrom: LIMIT, stallMs: 60_000, spawn: (lane) => (lane === 'large' ? holding() : spawnInspectionWorker()) });
  const rs = compileRuleset(lib, { version: 1 });
  await lanes.prepare(rs);
  const large = inspect(lanes, rs, post(`a=${'a'.repeat(LIMIT - 2)}`));
  const small = await Promise.all([post(sqli), post('q=plain+words'), { ...post(''), method: 'GET', url: `/?${sqli}`, body: null }].map((i) => inspect(lanes, rs, i).done));
  t.same(small.map((r) => r.verdict?.action), ['block', 'allow', 'block'], 'the small ones inspected: attacks blocked, the clean one allowed');
  t.notOk(large.settled(), 'while the large one is still waiting in its own thread');
  t.equal(lanes.pending, 1, 'one request waiting, the large one');
  const edge = inspect(lanes, rs, post(`b=${'b'.repeat(LIMIT - 3)}`));
  t.match((await edge.done).verdict, { action: 'allow' }, 'a body one byte under the limit goes to the small thread');
  await lanes.close();
  t.match((await large.done).err, { code: 'WAF_ERR_SHUTTING_DOWN' }, 'closing answers the held one (503), nothing left hanging');
});

t.test('the large-body thread starts with the first large body; from then on both threads compile every ruleset ahead', async (t) => {
  const lanes = new InspectionLanes({ log, largeFrom: LIMIT });
  t.teardown(() => lanes.close());
  t.equal(lanes.lanes().length, 2);
  const one = compileRuleset(lib, { version: 3 });
  t.notOk(lanes.compiled(one));
  await lanes.prepare(one);
  t.ok(lanes.small.compiled(one), 'the small thread compiled it');
  t.equal(lanes.large?.thread, null, 'no large-body thread yet: none came');
  t.ok(lanes.compiled(one), 'compiled by every running thread');
  const input = post(`note=${'filler+text+'.repeat(200)}&${sqli}`);
  const got = await inspect(lanes, one, input).done;
  t.ok(lanes.large?.thread, 'the first large body started it');
  t.same(got.verdict, one.inspect(input, ctx), 'and its verdict is the one computed here (compiled on first use)');
  t.equal(got.verdict?.action, 'block');
  const two = compileRuleset(lib, { version: 4 });
  await lanes.prepare(two);
  t.ok(lanes.small.compiled(two) && lanes.large?.compiled(two), 'the next version: compiled ahead by both');
  t.match((await inspect(lanes, two, input).done).verdict, { action: 'block', rulesetVersion: 4 });
});

t.test('largeFrom false: one thread for every request', async (t) => {
  const lanes = new InspectionLanes({ log, largeFrom: false });
  t.teardown(() => lanes.close());
  t.equal(lanes.large, null);
  t.same(lanes.lanes(), [lanes.small]);
  const rs = compileRuleset(lib, { version: 1 });
  t.match((await inspect(lanes, rs, post(`note=${'x'.repeat(5000)}&${sqli}`)).done).verdict, { action: 'block' });
});
