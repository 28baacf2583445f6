/** Worker thread body: self-tests signatures against their own examples so the request thread never runs them. */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { checkSignature } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';

/**
 * Run this thread at the lowest CPU priority (nice 19), the request thread keeping its own: a reload that re-tests a
 * whole library then takes the CPU the requests leave, instead of taking it from them on a busy machine. Linux names
 * the calling thread in /proc/thread-self and lets setpriority() address one thread by its id; elsewhere, or if
 * refused, the thread keeps the process's priority.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: nothing to do
  }
}

lowerThreadPriority();

parentPort?.on('message', (msg: { id: number; specs: SignatureSpec[] }) => {
  try {
    parentPort!.postMessage({ id: msg.id, problems: msg.specs.map((s) => checkSignature(s)) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
