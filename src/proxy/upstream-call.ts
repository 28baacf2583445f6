/**
 * One request to an upstream through undici's `dispatch`, with our own handler instead of `request()`: no
 * AsyncResource, no promise wrapper per callback, and no body stream at all for a small complete answer.
 *
 * The answer settles once its headers are in. Its body is
 * - a Buffer when the upstream declared a Content-Length of at most `bufferMax` bytes and a Content-Type (or sent no
 *   body: HEAD, 204, 304, length 0). The answer then settles only when the body is complete, so it goes out with its
 *   headers in one write, and a body cut short is an error before any byte reached the client (a 502, not a
 *   truncated page);
 * - otherwise a Readable fed chunk by chunk with backpressure (undici pauses the socket while the client is slow),
 *   so large, unknown-length and streamed answers (downloads, server-sent events) are never held in memory.
 * Without a Content-Type a buffered body would be labelled `application/octet-stream` by Fastify, so it streams.
 * A negative `bufferMax` streams every answer (for onSend hooks that read upstream bodies as streams).
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors as undiciErrors } from 'undici';

export interface UpstreamAnswer {
  status: number;
  /** Lower-case names; a repeated header is an array (as undici's `request()` gives them). */
  headers: Record<string, string | string[]>;
  /** null: no body bytes (HEAD, 204, 304, empty). */
  body: Buffer | Readable | null;
}

/** Raw header pairs from undici (Buffers) → a record keyed by lower-case name. */
export function headerRecord(raw: Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i].toString('latin1').toLowerCase();
    const v = raw[i + 1].toString('latin1');
    const had = out[k];
    if (had === undefined) out[k] = v;
    else if (Array.isArray(had)) had.push(v);
    else out[k] = [had, v];
  }
  return out;
}

/** The streamed body: `_read` resumes the upstream socket undici paused when the client fell behind. */
class UpstreamBody extends Readable {
  paused: (() => void) | null = null;
  constructor(private readonly abort: (err: Error) => void) {
    super();
  }
  override _read(): void {
    const resume = this.paused;
    if (resume) {
      this.paused = null;
      resume();
    }
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before the end (the client went away): stop reading from the upstream.
    if (!this.readableEnded) this.abort(err ?? new undiciErrors.RequestAbortedError('the client closed the connection'));
    cb(err);
  }
}

export class UpstreamCall implements Dispatcher.DispatchHandler {
  /** Settles once the headers are in (with the whole body, when it is buffered), or with the error before them. */
  readonly answer: Promise<UpstreamAnswer>;
  private resolve!: (a: UpstreamAnswer) => void;
  private reject!: (err: Error) => void;
  private abortFn: ((err?: Error) => void) | null = null;
  private gone: Error | null = null;
  private status = 0;
  private headers: Record<string, string | string[]> | null = null;
  private chunks: Buffer[] | null = null;
  private size = 0;
  private stream: UpstreamBody | null = null;
  private resume: (() => void) | null = null;
  private settled = false;

  constructor(
    private readonly method: string,
    private readonly bufferMax: number,
    /** A streamed body failed after its headers were sent on (the client gets a cut-off answer). */
    private readonly onBodyError: (err: Error) => void,
  ) {
    this.answer = new Promise<UpstreamAnswer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The client went away: cancel the upstream request (now, or as soon as undici hands us its abort). */
  abort(err: Error): void {
    if (this.gone) return;
    this.gone = err;
    this.abortFn?.(err);
  }

  get aborted(): boolean {
    return this.gone !== null;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.gone) abort(this.gone);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 1xx (100 Continue): undici keeps reading for the final answer
    this.status = status;
    const headers = (this.headers = headerRecord(raw));
    this.resume = resume;
    const declared = headers['content-length'];
    const length = typeof declared === 'string' ? Number(declared) : NaN;
    const bodyless = this.method === 'HEAD' || status === 204 || status === 304 || length === 0;
    if (this.bufferMax >= 0 && (bodyless || (length <= this.bufferMax && headers['content-type'] !== undefined))) {
      this.chunks = [];
      return true;
    }
    this.stream = new UpstreamBody((err) => this.abort(err));
    this.settle({ status, headers, body: this.stream });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return true;
    }
    const s = this.stream;
    if (!s || s.destroyed) return true;
    if (s.push(chunk)) return true;
    s.paused = this.resume;
    return false;
  }

  onComplete(): void {
    if (this.chunks) {
      const c = this.chunks;
      this.chunks = null;
      const body = c.length === 0 ? null : c.length === 1 ? c[0] : Buffer.concat(c, this.size);
      this.settle({ status: this.status, headers: this.headers!, body });
      return;
    }
    this.stream?.push(null);
  }

  onError(err: Error): void {
    this.chunks = null;
    if (!this.settled) {
      this.settled = true;
      this.reject(err);
      return;
    }
    const s = this.stream;
    if (s && !s.destroyed) {
      if (!this.gone) this.onBodyError(err);
      s.destroy(err);
    }
  }

  private settle(a: UpstreamAnswer): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(a);
  }
}
