/**
 * Work batched per turn of the event loop. Jobs queued while the loop is polling (one per request whose body is in)
 * run together, back to back, in the turn's check phase (`setImmediate`); what each caller does with its result
 * (answering 403, forwarding) runs after the whole batch, in order.
 *
 * Why: run once between the proxy's own work (parsing, forwarding, answering), the engine finds its data and code
 * gone from the CPU caches, and an inspection costs about twice what it costs in a loop. Run back to back, only the
 * first of a batch pays that; the forwarding after it is batched the same way. Under load a turn holds many requests
 * (about 16 with 50 connections on the proxy bench); alone, a request waits only for the rest of its turn's poll phase.
 */

export interface TurnBatch {
  /**
   * Runs `job` with the others queued in this turn; `then(err, result)` is called once every job of the batch has run
   * (`err` undefined: it returned `result`). No promise per job: the request path uses this one.
   */
  add<T>(job: () => T, then: (err: unknown, result: T | undefined) => void): void;
  /** `add` as a promise: settles with what `job` returns or throws, after the whole batch has run. */
  run<T>(job: () => T): Promise<T>;
}

/**
 * `report`: what to do with an error a continuation throws (it must not keep the others of its batch from running);
 * by default it is thrown again in a microtask of its own, as an uncaught exception.
 */
export function turnBatch(report: (err: unknown) => void = rethrowLater): TurnBatch {
  let jobs: Array<() => unknown> = [];
  let thens: Array<(err: unknown, result: unknown) => void> = [];
  // The arrays of the batch running now are kept for the next one (no arrays per turn).
  let spareJobs: Array<() => unknown> = [];
  let spareThens: Array<(err: unknown, result: unknown) => void> = [];
  const results: unknown[] = [];
  const errors: unknown[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    // Jobs queued by the jobs or their continuations go to the next turn.
    const js = jobs;
    const ts = thens;
    jobs = spareJobs;
    thens = spareThens;
    const n = js.length;
    for (let i = 0; i < n; i++) {
      try {
        results[i] = js[i]();
        errors[i] = undefined;
      } catch (err) {
        results[i] = undefined;
        // A job that threw nothing (`throw undefined`) still failed, for its caller.
        errors[i] = err === undefined ? new Error('a batched job threw undefined') : err;
      }
    }
    for (let i = 0; i < n; i++) {
      const result = results[i];
      const err = errors[i];
      results[i] = undefined;
      errors[i] = undefined;
      try {
        ts[i](err, result);
      } catch (thrown) {
        report(thrown);
      }
    }
    js.length = 0;
    ts.length = 0;
    spareJobs = js;
    spareThens = ts;
  };
  const add = <T>(job: () => T, then: (err: unknown, result: T | undefined) => void): void => {
    jobs.push(job);
    thens.push(then as (err: unknown, result: unknown) => void);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    add,
    run<T>(job: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => add(job, (err, result) => (err === undefined ? resolve(result as T) : reject(err))));
    },
  };
}

function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
