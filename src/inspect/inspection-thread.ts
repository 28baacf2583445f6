/**
 * Inspection in a worker thread of its own (config `inspection.thread`, on by default).
 *
 * The request thread parses, routes, forwards and answers; the requests of one turn of its event loop are sent to the
 * inspection thread as one message, inspected there back to back, and their verdicts come back as one message. Why:
 * - the engine keeps its data and code hot in a core of its own (run between the proxy's work in one thread, it finds
 *   them gone from the CPU caches and costs about twice what it costs in a loop), and the two threads work at once;
 * - a long inspection (a 1 MiB JSON body: tens of ms) no longer stalls every other connection's event loop.
 * The thread compiles its own copy of each ruleset from the ruleset's `source`: `prepare` before a swap (the hot
 * reload awaits it), or on the first batch that uses a ruleset it has not seen (that batch waits for the compile).
 *
 * Failure: nothing is forwarded uninspected. If the thread exits or throws, or answers nothing for `stallMs` while
 * requests wait (a bug: the engine's work per request is bounded), every waiting request fails with
 * WAF_ERR_INTERNAL (500), the thread is stopped and a new one started for the next requests. More than `maxWaiting`
 * requests waiting: the next ones are answered WAF_ERR_OVERLOADED (503) instead of queueing without bound.
 */
import type { Worker } from 'node:worker_threads';
import { WafError } from '../errors.ts';
import { startWorker } from '../worker-script.ts';
import type { Verdict } from '../types.ts';
import type { CompiledRuleset } from './engine.ts';
import { cleanVerdict, packBodies, type FromThread, type ThreadJob, type ToThread } from './thread-wire.ts';

/** The inspection thread's worker (inspection-worker.ts). */
export function spawnInspectionWorker(): Worker {
  return startWorker(import.meta.url, 'inspection-worker');
}

/** What a caller hears for its request: an error (nothing to forward), or the verdict and the inspection's ms. */
export type ThreadThen = (err: Error | undefined, verdict: Verdict | undefined, ms: number) => void;

export interface InspectionThreadOptions {
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** No answer for this long while requests wait (and no ruleset compiles): the thread is replaced. Default 10 s. */
  stallMs?: number;
  /** Requests waiting (queued or in the thread) past which new ones get 503. Default 10,000. */
  maxWaiting?: number;
  /** Starts the worker (tests: a misbehaving one). Default: inspection-worker.ts. */
  spawn?: () => Worker;
}

interface InFlight {
  rs: CompiledRuleset;
  jobs: ThreadJob[];
  thens: ThreadThen[];
}

/**
 * Batches sent and not answered, at most: two, so the thread finds the next batch waiting when it ends one, while the
 * requests arriving meanwhile gather into the batch after. On the proxy bench 1, 2, 3, 8 or no cap gave the same
 * req/s within the rounds' spread; with no cap p99 was higher (9.8 vs 7.3 ms GET, 10.8 vs 7.6 ms POST, 6 rounds).
 */
const MAX_IN_FLIGHT = 2;

/** Restarts closer together than this wait: a thread that dies at start does not spin the request thread. */
const RESPAWN_GAP_MS = 1000;

export class InspectionThread {
  private worker: Worker | null = null;
  /** The rulesets the running thread was sent, by key (a new thread starts with none). */
  private keys = new WeakMap<CompiledRuleset, number>();
  private nextKey = 1;
  private readonly prepares = new Map<number, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  /** Rulesets the running thread could not compile, by key, with its reason (their requests fail closed). */
  private refused = new Map<number, string>();
  private queued: Array<{ rs: CompiledRuleset; job: ThreadJob; then: ThreadThen }> = [];
  private scheduled = false;
  private readonly inFlight = new Map<number, InFlight>();
  private nextBatch = 1;
  private waiting = 0;
  private lastHeard = 0;
  private lastSpawn = -Infinity;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly stallMs: number;
  private readonly maxWaiting: number;
  /** Threads replaced after a failure (exit, error, stall). */
  restarts = 0;
  /** Compiled rulesets the running thread kept at its last compile (it drops those older than the one in use). */
  rulesetsHeld = 0;

  constructor(private readonly opts: InspectionThreadOptions) {
    this.stallMs = opts.stallMs ?? 10_000;
    this.maxWaiting = opts.maxWaiting ?? 10_000;
    this.timer = setInterval(() => this.checkStall(), Math.max(10, this.stallMs >> 2));
    this.timer.unref();
  }

  /** Has the thread compile `rs` (if it has not yet); resolves when it can inspect with it. */
  prepare(rs: CompiledRuleset): Promise<void> {
    const w = this.ensureWorker();
    if (w === null) return Promise.reject(new Error('inspection thread not running'));
    const known = this.keys.get(rs);
    if (known !== undefined && this.refused.has(known)) return Promise.reject(new Error(this.refused.get(known)));
    const key = known ?? this.send(w, rs);
    const waiters = this.prepares.get(key);
    if (waiters === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  /** Inspect `job` with `rs`, with the other requests of this turn; `then` is called once with the outcome. */
  inspect(rs: CompiledRuleset, job: ThreadJob, then: ThreadThen): void {
    if (this.closed) return then(new WafError('WAF_ERR_SHUTTING_DOWN'), undefined, 0);
    if (this.waiting >= this.maxWaiting) return then(new WafError('WAF_ERR_OVERLOADED', undefined, { waiting: this.waiting }), undefined, 0);
    this.waiting++;
    this.queued.push({ rs, job, then });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** True when the running thread has compiled `rs` (a batch with it waits for nothing). */
  compiled(rs: CompiledRuleset): boolean {
    const key = this.keys.get(rs);
    return this.worker !== null && key !== undefined && !this.prepares.has(key) && !this.refused.has(key);
  }

  /** Requests queued or in the thread now. */
  get pending(): number {
    return this.waiting;
  }

  /** The running thread (tests stop it to see the failure handling). */
  get thread(): Worker | null {
    return this.worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const w = this.worker;
    this.lose(new WafError('WAF_ERR_SHUTTING_DOWN'));
    const q = this.queued;
    this.queued = [];
    for (const x of q) this.finish(x.then, new WafError('WAF_ERR_SHUTTING_DOWN'), undefined, 0);
    if (w !== null) await w.terminate();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    // The thread has work queued: these wait for its next answer and go with whatever else arrives meanwhile (under
    // load, batches grow and the request thread posts fewer, larger messages).
    if (this.inFlight.size >= MAX_IN_FLIGHT || this.queued.length === 0) return;
    const q = this.queued;
    this.queued = [];
    const w = this.ensureWorker();
    if (w === null) {
      for (const x of q) this.finish(x.then, new WafError('WAF_ERR_INTERNAL', undefined, 'inspection thread not running'), undefined, 0);
      return;
    }
    if (this.inFlight.size === 0) this.lastHeard = performance.now();
    // One message per run of requests on the same ruleset (a swap within a turn splits it).
    let start = 0;
    while (start < q.length) {
      const rs = q[start].rs;
      let end = start + 1;
      while (end < q.length && q[end].rs === rs) end++;
      const part = q.slice(start, end);
      const key = this.keys.get(rs) ?? this.send(w, rs);
      const id = this.nextBatch++;
      const jobs = part.map((x) => x.job);
      this.inFlight.set(id, { rs, jobs, thens: part.map((x) => x.then) });
      const bodies = packBodies(jobs);
      const msg: ToThread = { t: 'batch', id, key, jobs };
      w.postMessage(msg, bodies === null ? undefined : [bodies]);
      start = end;
    }
    this.keepAlive();
  };

  /** While requests or a compile wait for the thread, it keeps the process alive; idle, it does not. */
  private keepAlive(): void {
    if (this.inFlight.size > 0 || this.prepares.size > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  /** Sends `rs`'s source under a new key. */
  private send(w: Worker, rs: CompiledRuleset): number {
    const key = this.nextKey++;
    this.keys.set(rs, key);
    this.prepares.set(key, []);
    const msg: ToThread = { t: 'ruleset', key, source: rs.source };
    w.postMessage(msg);
    w.ref();
    return key;
  }

  private ensureWorker(): Worker | null {
    if (this.worker !== null || this.closed) return this.worker;
    const now = performance.now();
    if (now - this.lastSpawn < RESPAWN_GAP_MS) return null;
    this.lastSpawn = now;
    let w: Worker;
    try {
      w = (this.opts.spawn ?? spawnInspectionWorker)();
    } catch (err) {
      this.opts.log.error({ err }, 'inspection thread could not start');
      return null;
    }
    w.unref();
    w.on('message', (m: FromThread) => {
      if (w === this.worker) this.onMessage(m);
    });
    w.on('error', (err) => {
      if (w === this.worker) this.fail(`thread failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (w === this.worker) this.fail(`thread exited (code ${code})`);
    });
    this.worker = w;
    this.keys = new WeakMap();
    this.refused = new Map();
    return w;
  }

  private onMessage(m: FromThread): void {
    this.lastHeard = performance.now();
    if (m.t === 'done') {
      const b = this.inFlight.get(m.id);
      if (b === undefined) return;
      this.inFlight.delete(m.id);
      for (let i = 0; i < b.jobs.length; i++) {
        const v = m.verdicts[i];
        const job = b.jobs[i];
        if (typeof v === 'string') this.finish(b.thens[i], new Error(v), undefined, m.ms[i]);
        else this.finish(b.thens[i], undefined, v ?? cleanVerdict({ paranoia: job[4], threshold: job[5], mode: job[6] }, b.rs.version), m.ms[i]);
      }
      if (this.queued.length > 0 && !this.scheduled) this.flush();
      this.keepAlive();
      return;
    }
    const waiters = this.prepares.get(m.key) ?? [];
    this.prepares.delete(m.key);
    if (m.t === 'refused') {
      this.refused.set(m.key, m.error);
      this.opts.log.error({ key: m.key, error: m.error }, 'inspection thread could not compile a ruleset: its requests fail closed (500)');
    }
    if (m.t === 'ready') this.rulesetsHeld = m.held;
    for (const p of waiters) {
      if (m.t === 'ready') p.resolve();
      else p.reject(new Error(m.error));
    }
    this.keepAlive();
  }

  private finish(then: ThreadThen, err: Error | undefined, v: Verdict | undefined, ms: number): void {
    this.waiting--;
    then(err, v, ms);
  }

  private checkStall(): void {
    if (this.worker === null || this.inFlight.size === 0) return;
    // A ruleset compiling holds its batches back: not a stall.
    if (this.prepares.size > 0) {
      this.lastHeard = performance.now();
      return;
    }
    if (performance.now() - this.lastHeard > this.stallMs) this.fail(`no answer for ${this.stallMs} ms`);
  }

  /**
   * The thread is lost: every request sent to it fails closed, the thread is stopped; the next batch (those queued
   * this turn included) starts another.
   */
  private fail(reason: string): void {
    const w = this.worker;
    this.restarts++;
    this.opts.log.error({ waiting: this.waiting, reason }, 'inspection thread lost: its waiting requests answered 500, starting another');
    this.lose(new WafError('WAF_ERR_INTERNAL', undefined, `inspection thread: ${reason}`));
    if (w !== null) void w.terminate();
    // Requests that were waiting for room in the lost thread go to the next one (or fail if none can start).
    if (this.queued.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private lose(err: Error): void {
    this.worker = null;
    const batches = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const b of batches) for (const then of b.thens) this.finish(then, err, undefined, 0);
    for (const ps of this.prepares.values()) for (const p of ps) p.reject(err);
    this.prepares.clear();
  }
}
