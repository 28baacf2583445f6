/**
 * The self-test worker (src/store/self-test.ts): a signature failing its own examples is reported, a passing one is
 * not, and the worker thread runs at nice 10 while the process keeps its priority (Linux: read from /proc).
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { selfTestAll, stopSelfTestWorker } from '../../src/store/self-test.ts';
import { loadLibrary } from '../../src/store/compile.ts';
import type { SignatureSpec } from '../../src/types.ts';

t.teardown(stopSelfTestWorker);

const good = loadLibrary('signatures').find((s) => s.operator === 'rx' && s.examples.match.length > 0)!;

/** Nice values of this process's threads (field 19 of /proc/self/task/TID/stat, after the parenthesised name). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

t.test('a signature failing its examples is reported; a passing one is not', async (t) => {
  // A pattern that cannot match any of the examples: each "must match" example is a problem.
  const broken: SignatureSpec = { ...good, id: 999901, pattern: 'zq-never-there-zq' };
  const [ok, bad] = await selfTestAll([{ ...good, id: 999900, description: 'fresh text, not cached' }, broken]);
  t.same(ok, [], 'the library signature passes its own examples');
  t.ok(bad.length >= good.examples.match.length, `${bad.length} problems`);
  t.match(bad[0], /999901/, 'each problem names the signature');
});

// Under a process already at nice 10 or more the worker keeps the process's nice: nothing to tell apart.
const skipNice = process.platform !== 'linux' ? 'needs /proc (Linux)' : getPriority() >= 10 ? `this process runs at nice ${getPriority()}` : false;
t.test('the worker thread runs at nice 10, the process does not', { skip: skipNice }, async (t) => {
  const base = getPriority();
  await stopSelfTestWorker(); // the next self-test starts a new worker
  const before = threadNices().filter((n) => n === 10).length;
  await selfTestAll([{ ...good, id: 999902, pattern: `(?:${String(good.pattern)})` }]); // a new text: runs in the worker
  t.equal(getPriority(), base, `the process (and its request thread) keeps nice ${base}`);
  t.equal(threadNices().filter((n) => n === 10).length, before + 1, 'one more thread at nice 10: the self-test worker');
});
