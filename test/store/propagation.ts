/**
 * How long a change took to go live on another instance, measured honestly on a loaded machine: the delay is the
 * instance's own swap time (LiveRuleset.live().loadedAt) minus the moment the version was made (its snapshot's
 * createdAt, taken just before the atomic write), both on this machine's clock. Polling only waits for the swap to
 * have happened (with a generous deadline), so a slow poll loop neither adds to the figure nor fails the test by itself.
 */

/** The bound for a change to reach every instance. No margin is added to it. */
export const PROPAGATION_MS = 1000;

interface Holder {
  live(): { version: number; loadedAt: number; snapshot: { createdAt: string } };
}

/** Poll until `pred()` holds; throws naming `what` after `deadlineMs`. */
export async function waitUntil(pred: () => boolean | Promise<boolean>, what: string, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Milliseconds from the creation of `version` to its swap on `holder` (waits for the swap first). */
export async function propagationMs(holder: Holder, version: number): Promise<number> {
  await waitUntil(() => holder.live().version >= version, `version ${version} to go live`);
  const s = holder.live();
  return s.loadedAt - Date.parse(s.snapshot.createdAt);
}
