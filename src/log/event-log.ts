/**
 * The event sink behind services.events: redacts, keeps a ring for queries, appends to the JSONL file and queues for the
 * Redis stream (bounded), flushing asynchronously; while Redis is down the queue holds events and replays them when it
 * returns (idempotent by event id). record() never throws and never waits.
 */
import type { WafEvent } from '../types.ts';
import type { RedisLike } from '../store/redis-client.ts';
import type { JsonlFile } from './jsonl-file.ts';
import type { RedisEventStream } from './redis-stream.ts';
import { search, top, timeline, type EventFilter, type TopKind } from './query.ts';
import type { Redactor } from './redact.ts';
import { EventRing } from './ring.ts';

export interface SinkLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface EventLogOptions {
  redactor: Redactor;
  ringSize: number;
  queueMax: number;
  file?: JsonlFile | null;
  stream?: RedisEventStream | null;
  /** The client behind `stream` (to know when it is reachable); closed by close(). */
  client?: RedisLike | null;
  log?: SinkLogger;
  /** Delay before a batch is written to the stream. */
  flushMs?: number;
  /** Newest stream entries scanned per query. */
  scanMax?: number;
  /** How long a detect event waits for its backend status. */
  awaitMs?: number;
  /** Called for every recorded event (metrics). */
  onRecord?: (e: WafEvent) => void;
}

export interface EventLogStats {
  recorded: number;
  pending: number;
  dropped: number;
  streamed: number;
  stream: 'none' | 'up' | 'down';
}

const BATCH = 200;
/** How far behind a query's `since` the stream is still read (events replayed after an outage arrive late). */
const REPLAY_SLACK_MS = 3_600_000;
/** Detect events waiting for their response at most (beyond: recorded at once without backendStatus). */
const AWAIT_MAX = 10_000;
const quiet: SinkLogger = { warn() {}, info() {} };

export class EventLog {
  readonly ring: EventRing;
  private queue: WafEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private streamUp = false;
  private closed = false;
  private readonly log: SinkLogger;
  private counts = { recorded: 0, dropped: 0, streamed: 0 };
  private readonly awaiting = new Map<string, { event: WafEvent; timer: NodeJS.Timeout }>();

  constructor(private readonly opts: EventLogOptions) {
    this.ring = new EventRing(opts.ringSize);
    this.log = opts.log ?? quiet;
    const c = opts.client;
    if (c && opts.stream) {
      c.on('ready', () => {
        const wasDown = !this.streamUp;
        this.streamUp = true;
        if (wasDown && this.queue.length) this.log.info({ pending: this.queue.length }, 'events: Redis reachable again, replaying queued events');
        this.schedule(0);
      });
      c.on('error', () => {});
      c.on('close', () => {
        if (this.streamUp) this.log.warn({ pending: this.queue.length }, 'events: Redis stream unreachable; queueing events (file still written)');
        this.streamUp = false;
      });
    }
  }

  /** Connect the Redis client (never rejects: an unreachable Redis is retried in the background). */
  async start(): Promise<void> {
    const c = this.opts.client;
    if (c && c.status === 'wait') await c.connect().catch((e: Error) => this.log.warn({ err: e.message }, 'events: Redis not reachable at start; queueing'));
  }

  /**
   * Take an event: never throws, never blocks. A detect-mode event without backendStatus waits (bounded, up to
   * `awaitMs`) for complete(id, status) from the response hook, so it carries what the backend answered.
   */
  record(raw: WafEvent): void {
    try {
      if (this.closed) return;
      if (raw.action === 'detect' && raw.backendStatus === undefined && this.awaiting.size < AWAIT_MAX && !this.awaiting.has(raw.id)) {
        const timer = setTimeout(() => this.complete(raw.id), this.opts.awaitMs ?? 120_000);
        timer.unref?.();
        this.awaiting.set(raw.id, { event: raw, timer });
        return;
      }
      this.commit(raw);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'events: could not record an event');
    }
  }

  /** The response for an event's request is done: add the backend status to a waiting detect event and record it. */
  complete(id: string, backendStatus?: number): void {
    const a = this.awaiting.get(id);
    if (!a) return;
    clearTimeout(a.timer);
    this.awaiting.delete(id);
    try {
      this.commit(backendStatus === undefined ? a.event : { ...a.event, backendStatus });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'events: could not record an event');
    }
  }

  private commit(raw: WafEvent): void {
    {
      const e = this.opts.redactor.event(raw);
      this.counts.recorded++;
      this.ring.push(e);
      this.opts.file?.append(e);
      this.opts.onRecord?.(e);
      if (this.opts.stream) {
        this.queue.push(e);
        if (this.queue.length > this.opts.queueMax) {
          const over = this.queue.length - this.opts.queueMax;
          this.queue.splice(0, over);
          this.counts.dropped += over;
          if (this.counts.dropped === over || this.counts.dropped % 1000 < over) this.log.warn({ dropped: this.counts.dropped }, 'events: stream queue full, oldest queued events dropped from the stream (still in the file)');
        }
        this.schedule(this.opts.flushMs ?? 20);
      }
    }
  }

  /** Add events read back from the file at start: into the ring, and queued for the stream (idempotent there). */
  restore(events: WafEvent[], replay: boolean): void {
    for (const e of events) {
      this.ring.push(e);
      if (replay && this.opts.stream) this.queue.push(e);
    }
    if (this.queue.length > this.opts.queueMax) this.queue.splice(0, this.queue.length - this.opts.queueMax);
    if (this.queue.length) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length && this.streamUp) this.schedule(0);
      });
    }, ms);
    this.timer.unref?.();
  }

  /** Write queued events to the stream until empty or Redis fails. */
  private async flush(): Promise<void> {
    const stream = this.opts.stream;
    if (!stream) return;
    while (this.queue.length) {
      const batch = this.queue.slice(0, BATCH);
      try {
        await stream.add(batch);
      } catch (err) {
        // Not stored (or not known to be): keep them; the id dedupe makes a later retry safe. Retried on 'ready'.
        if (this.streamUp) this.log.warn({ err: (err as Error).message, pending: this.queue.length }, 'events: stream write failed; will retry');
        this.streamUp = this.opts.client?.status === 'ready';
        if (this.streamUp) this.schedule(500);
        return;
      }
      // The queue may have dropped from its head meanwhile: remove exactly the batch's events still at the front.
      let i = 0;
      while (i < batch.length && this.queue[0] === batch[i]) {
        this.queue.shift();
        i++;
      }
      if (i < batch.length) this.queue = this.queue.filter((e) => !batch.includes(e));
      this.counts.streamed += batch.length;
      this.streamUp = true;
    }
  }

  /** Wait until the queue is empty (or Redis is down) and the file is written. */
  async drain(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.flushing) await this.flushing;
      else if (this.queue.length && this.streamReachable()) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.flushing = this.flush().finally(() => (this.flushing = null));
      } else break;
    }
    await this.opts.file?.flush();
  }

  streamReachable(): boolean {
    return !!this.opts.stream && this.opts.client?.status === 'ready';
  }

  stats(): EventLogStats {
    return { ...this.counts, pending: this.queue.length, stream: !this.opts.stream ? 'none' : this.streamReachable() ? 'up' : 'down' };
  }

  /** Newest first: from the shared stream when reachable (all instances), else this instance's ring. */
  async recent(scan = this.opts.scanMax ?? 10_000, since?: number): Promise<{ source: 'stream' | 'local'; events: WafEvent[] }> {
    const stream = this.opts.stream;
    if (stream && this.streamReachable()) {
      try {
        const out: WafEvent[] = [];
        let before: string | undefined;
        while (out.length < scan) {
          const page = await stream.recent(Math.min(1000, scan - out.length), before);
          for (const r of page) out.push(r.event);
          if (page.length === 0) break;
          before = page[page.length - 1].sid;
          // Stream order is arrival order; replayed events arrive late, so stop only well past the window's start.
          if (since !== undefined && Number(before.split('-')[0]) < since - REPLAY_SLACK_MS) break;
        }
        // Events recorded here but not yet in the stream come first (they are the newest).
        const inStream = new Set(out.map((e) => e.id));
        const queued = this.queue.filter((e) => !inStream.has(e.id)).reverse();
        return { source: 'stream', events: [...queued, ...out] };
      } catch {
        /* fall through to the ring */
      }
    }
    return { source: 'local', events: this.ring.newestFirst() };
  }

  async search(f: EventFilter, limit = 100): Promise<{ source: string; events: WafEvent[] }> {
    const r = await this.recent(undefined, f.since);
    return { source: r.source, events: search(r.events, f, limit) };
  }

  async get(id: string): Promise<WafEvent | null> {
    const local = this.ring.get(id);
    if (local) return local;
    if (this.opts.stream && this.streamReachable()) {
      try {
        return await this.opts.stream.get(id);
      } catch {
        return null;
      }
    }
    return null;
  }

  async top(kind: TopKind, f: EventFilter, n = 10) {
    const r = await this.recent(undefined, f.since);
    return { source: r.source, top: top(search(r.events, f, Number.MAX_SAFE_INTEGER), kind, n) };
  }

  async timeline(f: EventFilter & { since: number; until: number }, buckets = 60) {
    const r = await this.recent(undefined, f.since);
    return { source: r.source, ...timeline(search(r.events, f, Number.MAX_SAFE_INTEGER), f.since, f.until, buckets) };
  }

  /** Stop taking events, flush what can be flushed, close the Redis client. */
  async close(): Promise<void> {
    for (const id of [...this.awaiting.keys()]) this.complete(id);
    await this.drain(2000).catch(() => {});
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.queue.length) this.log.warn({ pending: this.queue.length }, 'events: closing with events not yet in the stream (they are in the file and replayed at next start)');
    this.opts.client?.disconnect();
  }
}
