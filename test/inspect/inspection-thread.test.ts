// The inspection thread (src/inspect/inspection-thread.ts) with real worker threads: the same verdicts as the engine in
// this thread on every example of the library, bodies and headers through the wire intact, and the failure behaviour
// (a thread that dies or stops answering fails its requests closed and is replaced; too many waiting get 503).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { compileRuleset, type InspectContext } from '../../src/inspect/engine.ts';
import { InspectionThread, spawnInspectionWorker } from '../../src/inspect/inspection-thread.ts';
import { jobOf } from '../../src/inspect/thread-wire.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { RequestInput, Verdict } from '../../src/types.ts';
import { libraryExamples, usableLibrary } from '../helpers/library-examples.ts';

const logs: Array<{ msg: string; obj: object }> = [];
const log = { error: (obj: object, msg: string) => logs.push({ obj, msg }), warn: (obj: object, msg: string) => logs.push({ obj, msg }) };

/** `rawHeaders` as Node gives them: name, value, name, value … */
const rawOf = (input: RequestInput): string[] => input.headers.flatMap(([n, v]) => [n, v]);

function inThread(thread: InspectionThread, rs: ReturnType<typeof compileRuleset>, input: RequestInput, ctx: InspectContext): Promise<{ err?: Error; verdict?: Verdict; ms: number }> {
  return new Promise((resolve) => thread.inspect(rs, jobOf(input, rawOf(input), ctx), (err, verdict, ms) => resolve({ err, verdict, ms })));
}

/** A worker that answers `ready` to every ruleset and then does `onBatch` (a stand-in for a thread gone wrong). */
const fakeThread = (onBatch: string) => () => new Worker(`
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (m) => {
    if (m.t === 'ruleset') parentPort.postMessage({ t: 'ready', key: m.key });
    else { ${onBatch} }
  });`, { eval: true });

const lib = usableLibrary();
const examples = libraryExamples(lib);

t.test('every library example: the thread decides exactly as this thread does, at PL1 and PL4', async (t) => {
  const here = compileRuleset(lib, { version: 7 });
  const thread = new InspectionThread({ log });
  t.teardown(() => thread.close());
  await thread.prepare(here);
  for (const paranoia of [1, 4] as const) {
    const ctx: InspectContext = { paranoia, threshold: 5, mode: 'block', site: 'shop', clientIp: '203.0.113.9' };
    // All sent in one turn: they go in batches, as under load.
    const results = await Promise.all(examples.map((ex) => inThread(thread, here, { ...exampleToInput(ex), clientIp: ctx.clientIp, site: ctx.site, route: '' }, ctx)));
    let differ = 0;
    let blocked = 0;
    for (let i = 0; i < examples.length; i++) {
      const want = here.inspect({ ...exampleToInput(examples[i]), clientIp: ctx.clientIp, site: ctx.site, route: '' }, ctx);
      const got = results[i];
      if (want.action === 'block') blocked++;
      if (got.err !== undefined || JSON.stringify(got.verdict) !== JSON.stringify(want)) {
        differ++;
        if (differ <= 3) t.same(got.verdict ?? got.err?.message, want, `PL${paranoia}: ${JSON.stringify(examples[i]).slice(0, 120)}`);
      }
    }
    t.equal(differ, 0, `PL${paranoia}: ${examples.length} examples, the same verdict (matches, findings, score, version) from the thread`);
    t.ok(blocked > 300, `PL${paranoia}: the examples include attacks (${blocked} blocked)`);
  }
});

t.test('bodies and headers cross intact: a multipart upload, a body in a pooled Buffer, a header with bytes above 0x7f', async (t) => {
  const rs = compileRuleset(lib, { version: 1 });
  const thread = new InspectionThread({ log });
  t.teardown(() => thread.close());
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block', site: 'default', clientIp: '127.0.0.1' };
  const boundary = 'XyZ123';
  const multipart = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.php"\r\nContent-Type: text/plain\r\n\r\n<?php system($_GET['c']); ?>\r\n--${boundary}--\r\n`);
  // A small Buffer from Node's pool shares its memory with others: only its own bytes must be inspected.
  const pooled = Buffer.from(`q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`);
  t.ok(pooled.buffer.byteLength > pooled.byteLength, 'the form body is a view of a larger pool');
  const cases: Array<[string, RequestInput]> = [
    ['multipart', { method: 'POST', url: '/upload', httpVersion: '1.1', headers: [['Host', 'a.example'], ['Content-Type', `multipart/form-data; boundary=${boundary}`]], body: multipart }],
    ['pooled form', { method: 'POST', url: '/f', httpVersion: '1.1', headers: [['Host', 'a.example'], ['Content-Type', 'application/x-www-form-urlencoded']], body: pooled }],
    ['latin1 header', { method: 'GET', url: '/', httpVersion: '1.1', headers: [['Host', 'a.example'], ['X-Note', 'caf\u00e9 <script>alert(1)</script>']], body: null }],
    ['attack in the first header, the last header', { method: 'GET', url: '/', httpVersion: '1.1', headers: [['X-First', '<script>alert(1)</script>'], ['Host', 'a.example'], ['Referer', "http://a.example/?q=1' UNION SELECT password FROM users--"]], body: null }],
    ['empty body', { method: 'POST', url: '/e', httpVersion: '1.1', headers: [['Host', 'a.example'], ['Content-Type', 'text/plain']], body: Buffer.alloc(0) }],
  ];
  for (const [name, input] of cases) {
    const got = await inThread(thread, rs, input, ctx);
    t.same(got.verdict, rs.inspect(input, ctx), `${name}: the same verdict as here`);
    t.ok(got.ms >= 0, `${name}: its inspection time comes back`);
  }
  t.equal(pooled.toString(), `q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, 'the caller keeps its body (it is forwarded after)');
  t.match((await inThread(thread, rs, cases[0][1], ctx)).verdict, { action: 'block' }, 'the PHP upload is blocked');
  const firstLast = (await inThread(thread, rs, cases[3][1], ctx)).verdict as Verdict;
  t.ok(firstLast.matches.some((m) => m.target === 'headers:x-first') && firstLast.matches.some((m) => m.target === 'headers:referer'), 'the first and the last header are both read');
});

t.test('a request whose fields hold a NUL (which the HTTP parser refuses) fails closed rather than be read another way', async (t) => {
  const rs = compileRuleset(lib, { version: 1 });
  const thread = new InspectionThread({ log });
  t.teardown(() => thread.close());
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block', site: 'default', clientIp: '127.0.0.1' };
  const input: RequestInput = { method: 'GET', url: '/', httpVersion: '1.1', headers: [['Host', 'a.example'], ['X-Split', 'a\u0000<script>alert(1)</script>']], body: null };
  const got = await inThread(thread, rs, input, ctx);
  t.match(got.err?.message, /did not cross intact/, 'an error, not a verdict');
  t.equal(got.verdict, undefined);
});

t.test('a ruleset the thread has not seen is compiled on first use; a new version replaces it', async (t) => {
  const thread = new InspectionThread({ log });
  t.teardown(() => thread.close());
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
  const one = compileRuleset(lib, { version: 1 });
  const input: RequestInput = { method: 'GET', url: `/?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, httpVersion: '1.1', headers: [['Host', 'a.example']], body: null };
  t.match((await inThread(thread, one, input, ctx)).verdict, { action: 'block', rulesetVersion: 1 }, 'version 1, not prepared: compiled by the thread, then used');
  // Version 2 without the SQL injection signatures that matched: the thread must use it, not its copy of version 1.
  const matched = new Set(one.inspect(input, ctx).matches.map((m) => m.id));
  const two = compileRuleset(lib.filter((s) => !matched.has(s.id)), { version: 2 });
  await thread.prepare(two);
  const v2 = (await inThread(thread, two, input, ctx)).verdict as Verdict;
  t.same({ version: v2.rulesetVersion, action: v2.action }, { version: 2, action: two.inspect(input, ctx).action }, 'version 2 decides as version 2 does here');
  t.notOk(v2.matches.some((m) => matched.has(m.id)), 'none of the signatures version 2 left out matched');
});

t.test('the thread keeps no ruleset older than the one in use: versions replaced by hot reloads are dropped', async (t) => {
  const thread = new InspectionThread({ log });
  t.teardown(() => thread.close());
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
  const input: RequestInput = { method: 'GET', url: '/?q=shoes', httpVersion: '1.1', headers: [['Host', 'a.example']], body: null };
  const versions = [1, 2, 3, 4].map((version) => compileRuleset(lib, { version }));
  await thread.prepare(versions[0]);
  t.equal(thread.rulesetsHeld, 1);
  for (let i = 1; i < versions.length; i++) {
    t.match((await inThread(thread, versions[i - 1], input, ctx)).verdict, { rulesetVersion: i }, `version ${i} in use`);
    await thread.prepare(versions[i]);
    t.equal(thread.rulesetsHeld, 2, `version ${i + 1} compiled beside version ${i} only: the ones before were dropped`);
  }
  t.match((await inThread(thread, versions[3], input, ctx)).verdict, { rulesetVersion: 4 });
});

t.test('a thread that exits: its requests fail closed (500), the next ones go to a new thread', async (t) => {
  const logsBefore = logs.length;
  let spawned = 0;
  const rs = compileRuleset(lib, { version: 1 });
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
  const input: RequestInput = { method: 'GET', url: '/?q=shoes', httpVersion: '1.1', headers: [['Host', 'a.example']], body: null };
  // First thread exits on its first batch; the ones after it are real.
  const thread = new InspectionThread({
    log,
    spawn: () => {
      spawned++;
      if (spawned === 1) return fakeThread('process.exit(3)')();
      return spawnInspectionWorker();
    },
  });
  t.teardown(() => thread.close());
  const lost = await Promise.all([1, 2, 3].map(() => inThread(thread, rs, input, ctx)));
  for (const r of lost) t.match(r.err, { code: 'WAF_ERR_INTERNAL', statusCode: 500 }, 'failed closed: not inspected, not forwarded');
  t.equal(thread.restarts, 1, 'the loss was counted');
  t.ok(logs.slice(logsBefore).some((l) => /inspection thread lost/.test(l.msg) && /exited \(code 3\)/.test(JSON.stringify(l.obj))), 'and logged with the reason');
  // A thread that died at once is replaced no sooner than a second after it started.
  await new Promise((r) => setTimeout(r, 1100));
  const after = await inThread(thread, rs, input, ctx);
  t.equal(after.err, undefined, 'the next request is inspected');
  t.match(after.verdict, { action: 'allow', rulesetVersion: 1 }, 'by a new thread');
  t.equal(spawned, 2, 'one new thread');
});

/** A thread whose first worker never answers a batch (stall limit 300 ms), the workers after it real. */
function stallingThread(t: { teardown(fn: () => unknown): void }) {
  const state = { spawned: 0 };
  const thread = new InspectionThread({ log, stallMs: 300, spawn: () => (++state.spawned === 1 ? fakeThread('/* never answers */')() : spawnInspectionWorker()) });
  t.teardown(() => thread.close());
  const rs = compileRuleset(lib, { version: 1 });
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
  const input: RequestInput = { method: 'GET', url: '/?q=shoes', httpVersion: '1.1', headers: [['Host', 'a.example']], body: null };
  return { thread, rs, ctx, input, state };
}

t.test('a thread that stops answering: after stallMs its requests fail closed and it is replaced', async (t) => {
  const { thread, rs, ctx, input } = stallingThread(t);
  const t0 = performance.now();
  const r = await inThread(thread, rs, input, ctx);
  const waited = performance.now() - t0;
  t.match(r.err, { code: 'WAF_ERR_INTERNAL' }, 'failed closed');
  t.ok(waited >= 300 && waited < 3000, `after the stall limit, not before and not much after (${waited.toFixed(0)} ms)`);
  t.equal(thread.restarts, 1);
  await new Promise((res) => setTimeout(res, 1100));
  t.match((await inThread(thread, rs, input, ctx)).verdict, { action: 'allow' }, 'a new thread inspects the next request');
});

t.test('requests queued behind two lost batches are answered too (by the next thread), not left waiting', async (t) => {
  const { thread, rs, ctx, input, state } = stallingThread(t);
  // A second for the first thread, so the next may start at once when it is lost.
  await thread.prepare(rs);
  await new Promise((res) => setTimeout(res, 1000));
  // Three turns: two batches go to the thread, the third waits for room.
  const first = inThread(thread, rs, input, ctx);
  await new Promise((res) => setImmediate(res));
  const second = inThread(thread, rs, input, ctx);
  await new Promise((res) => setImmediate(res));
  const third = inThread(thread, rs, input, ctx);
  await new Promise((res) => setImmediate(res));
  t.equal(thread.pending, 3);
  t.match((await first).err, { code: 'WAF_ERR_INTERNAL' }, 'the first batch fails closed');
  t.match((await second).err, { code: 'WAF_ERR_INTERNAL' }, 'the second too');
  const r3 = await third;
  t.equal(r3.err, undefined, 'the queued one goes to the new thread');
  t.match(r3.verdict, { action: 'allow' });
  t.equal(state.spawned, 2);
});

t.test('a ruleset the thread cannot compile: its requests fail closed, it is not reported compiled, and the reason is logged', async (t) => {
  const logsBefore = logs.length;
  const thread = new InspectionThread({
    log,
    spawn: () => new Worker(`
      const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (m) => {
        if (m.t === 'ruleset') parentPort.postMessage({ t: 'refused', key: m.key, error: 'no room for it' });
        else parentPort.postMessage({ t: 'done', id: m.id, verdicts: m.jobs.map(() => 'ruleset not compiled'), ms: m.jobs.map(() => 0) });
      });`, { eval: true }),
  });
  t.teardown(() => thread.close());
  const rs = compileRuleset(lib, { version: 1 });
  await t.rejects(thread.prepare(rs), { message: 'no room for it' }, 'prepare rejects with the reason');
  t.notOk(thread.compiled(rs), 'not reported compiled');
  await t.rejects(thread.prepare(rs), { message: 'no room for it' }, 'and asked again, still refused (not sent again)');
  const r = await inThread(thread, rs, { method: 'GET', url: '/', httpVersion: '1.1', headers: [], body: null }, { paranoia: 1, threshold: 5, mode: 'block' });
  t.match(r.err?.message, /not compiled/, 'a request with it fails: an error, not a verdict');
  t.ok(logs.slice(logsBefore).some((l) => /could not compile a ruleset/.test(l.msg)), 'logged');
});

t.test('more requests waiting than maxWaiting: the next ones are refused with 503 at once', async (t) => {
  const thread = new InspectionThread({ log, maxWaiting: 2, stallMs: 60_000, spawn: fakeThread('/* holds them */') });
  t.teardown(() => thread.close());
  const rs = compileRuleset(lib, { version: 1 });
  const ctx: InspectContext = { paranoia: 1, threshold: 5, mode: 'block' };
  const input: RequestInput = { method: 'GET', url: '/', httpVersion: '1.1', headers: [], body: null };
  const held = [inThread(thread, rs, input, ctx), inThread(thread, rs, input, ctx)];
  const third = await inThread(thread, rs, input, ctx);
  t.match(third.err, { code: 'WAF_ERR_OVERLOADED', statusCode: 503 }, 'the third is refused');
  t.equal(thread.pending, 2, 'two wait');
  await thread.close();
  for (const r of await Promise.all(held)) t.match(r.err, { code: 'WAF_ERR_SHUTTING_DOWN' }, 'closing answers the waiting ones (503)');
  t.equal(thread.pending, 0);
});
