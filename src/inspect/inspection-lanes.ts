/**
 * Inspection threads by body size: requests whose body reaches `largeFrom` bytes are inspected in a thread of their
 * own, the rest in another. One thread inspects its batches in order, so a small request that arrives behind a 1 MiB
 * JSON body (tens of ms to inspect) waits for it, and a client that posts large bodies without pause holds up every
 * other client's requests. With two lanes large bodies wait only for large bodies. Each lane is an InspectionThread
 * (its own failure handling, overload limit and compiled copy of the ruleset). The large lane's thread starts with the
 * first large body (which waits for its compile): a process that gets none never pays its start (a compile of the
 * library, about a second of CPU) nor its memory (about 30 MB).
 */
import type { Worker } from 'node:worker_threads';
import type { CompiledRuleset } from './engine.ts';
import { InspectionThread, type InspectionThreadOptions, type ThreadThen } from './inspection-thread.ts';
import type { ThreadJob } from './thread-wire.ts';

export type Lane = 'small' | 'large';

export interface InspectionLanesOptions extends Omit<InspectionThreadOptions, 'spawn'> {
  /** Bodies of this many bytes or more go to the large lane; false: one thread for every request. */
  largeFrom: number | false;
  /** Starts a lane's worker (tests: a misbehaving one). Default: inspection-worker.ts. */
  spawn?: (lane: Lane) => Worker;
}

export class InspectionLanes {
  /** The lane for requests without a large body. */
  readonly small: InspectionThread;
  /** The lane for large bodies (null: one lane). */
  readonly large: InspectionThread | null;
  private readonly largeFrom: number;

  constructor(opts: InspectionLanesOptions) {
    const { largeFrom, spawn, ...threadOpts } = opts;
    const lane = (name: Lane) => new InspectionThread({ ...threadOpts, spawn: spawn && (() => spawn(name)) });
    this.small = lane('small');
    this.large = largeFrom === false ? null : lane('large');
    this.largeFrom = largeFrom === false ? Infinity : largeFrom;
  }

  /** Every running lane compiles `rs` (the hot reload awaits this before the swap); the small lane always runs. */
  async prepare(rs: CompiledRuleset): Promise<void> {
    await Promise.all(this.lanes().filter((l) => l === this.small || l.thread !== null).map((l) => l.prepare(rs)));
  }

  inspect(rs: CompiledRuleset, job: ThreadJob, then: ThreadThen): void {
    const body = job[2];
    const lane = this.large !== null && body !== null && body.byteLength >= this.largeFrom ? this.large : this.small;
    lane.inspect(rs, job, then);
  }

  /** True when the small lane and every other running lane have compiled `rs`. */
  compiled(rs: CompiledRuleset): boolean {
    return this.lanes().every((l) => l.compiled(rs) || (l !== this.small && l.thread === null));
  }

  /** Requests queued or in a thread now, all lanes. */
  get pending(): number {
    return this.lanes().reduce((n, l) => n + l.pending, 0);
  }

  /** Threads replaced after a failure, all lanes. */
  get restarts(): number {
    return this.lanes().reduce((n, l) => n + l.restarts, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes().map((l) => l.close()));
  }

  lanes(): InspectionThread[] {
    return this.large === null ? [this.small] : [this.small, this.large];
  }
}
