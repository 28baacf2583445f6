/** Worker thread body: self-tests signatures against their own examples so the request thread never runs them. */
import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../thread-priority.ts';
import { checkSignature } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';

/**
 * Nice 10 for this thread, the request thread keeping the process's priority: on a core both want, the requests get
 * about 90% of it (CFS weights 1024 vs 110), and re-testing a whole library (0.4-0.7 s of CPU) still ends within
 * seconds. Nice 19 (1.5%) starved it: under a saturating load a pushed version never went live. Linux names the
 * calling thread in /proc/thread-self and lets setpriority() address one thread by its id; elsewhere, or if refused,
 * the thread keeps the process's priority.
 */
const SELF_TEST_NICE = 10;

lowerThreadPriority(SELF_TEST_NICE);

parentPort?.on('message', (msg: { id: number; specs: SignatureSpec[] }) => {
  try {
    parentPort!.postMessage({ id: msg.id, problems: msg.specs.map((s) => checkSignature(s)) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
