/**
 * The inspection thread's body: compiles the rulesets the request thread sends (from their source, with the same
 * sliced compile as a hot reload, so batches of the ruleset in use keep being answered meanwhile) and inspects batches
 * of requests with them. See inspection-thread.ts.
 */
import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../thread-priority.ts';
import { compileRulesetAsync } from './compile-async.ts';
import type { CompiledRuleset } from './engine.ts';
import { inputOf, packVerdict, type FromThread, type ToThread } from './thread-wire.ts';
import type { Verdict } from '../types.ts';

type Batch = Extract<ToThread, { t: 'batch' }>;

/**
 * Nice 1 for this thread (CFS weight 820 against the request thread's 1024): waking it with a batch then seldom
 * preempts the request thread on its core, and under a saturating load the two share a contended core about 56:44.
 * Measured against the process's priority, the proxy bench's GET and POST, 4 interleaved rounds (a scratch script):
 * inspection on / off 0.85x vs 0.82x GET and 0.88x vs 0.84x POST (higher in 3 rounds of 4); nice 5 gave about the
 * same. A small gain, at the mildest setting.
 */
const INSPECT_NICE = 1;
lowerThreadPriority(INSPECT_NICE);

const port = parentPort;
if (port === null) throw new Error('inspection-worker.ts runs as a worker thread');

/** Compiled rulesets by key, and the batches waiting for one still compiling. */
const rulesets = new Map<number, CompiledRuleset>();
const compiling = new Map<number, Batch[]>();
const refused = new Map<number, string>();

function send(msg: FromThread): void {
  (port as NonNullable<typeof port>).postMessage(msg);
}

function run(batch: Batch): void {
  const rs = rulesets.get(batch.key);
  // A batch names the newest ruleset the request thread uses: older ones will not be asked for again.
  for (const k of rulesets.keys()) if (k < batch.key) rulesets.delete(k);
  for (const k of refused.keys()) if (k < batch.key) refused.delete(k);
  const n = batch.jobs.length;
  const verdicts: Array<Verdict | string | null> = new Array(n);
  const ms: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (rs === undefined) verdicts[i] = `ruleset ${batch.key} not compiled: ${refused.get(batch.key) ?? 'never sent'}`;
    else {
      try {
        const { input, ctx } = inputOf(batch.jobs[i]);
        verdicts[i] = packVerdict(rs.inspect(input, ctx));
      } catch (err) {
        verdicts[i] = (err as Error)?.message ?? String(err);
      }
    }
    ms[i] = performance.now() - t0;
  }
  send({ t: 'done', id: batch.id, verdicts, ms });
}

port.on('message', (msg: ToThread) => {
  if (msg.t === 'batch') {
    const waiting = compiling.get(msg.key);
    if (waiting !== undefined) waiting.push(msg);
    else run(msg);
    return;
  }
  const { key, source } = msg;
  compiling.set(key, []);
  compileRulesetAsync(source.specs, { ...source.options, ...(source.warm ? { warm: source.warm } : {}) }).then(
    (rs) => {
      rulesets.set(key, rs);
      send({ t: 'ready', key, held: rulesets.size });
    },
    (err: unknown) => {
      refused.set(key, (err as Error)?.message ?? String(err));
      send({ t: 'refused', key, error: refused.get(key) as string });
    },
  ).finally(() => {
    const waiting = compiling.get(key) ?? [];
    compiling.delete(key);
    for (const b of waiting) run(b);
  });
});
