/** Lowering the priority of the calling worker thread (Linux), so the request thread keeps the larger share of a core. */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets the calling thread's nice value to `nice`, never lower than it is (a process started at a higher nice keeps
 * that one for this thread too). Linux names the calling thread in /proc/thread-self and lets setpriority() address one
 * thread by its id; elsewhere, or if refused, the thread keeps the process's priority.
 */
export function lowerThreadPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.max(nice, getPriority(tid)));
  } catch {
    // not Linux, or not allowed: nothing to do
  }
}
