/**
 * The bytes of request bodies a process holds in memory at once (config `limits.maxBufferedBodyBytes`). Every body is
 * buffered whole before it is inspected and forwarded, so without a bound on their sum a few thousand connections
 * each sending a body at the route's limit would take gigabytes. A body's bytes are charged as they arrive and given
 * back when its response is over (or its read fails); a chunk that does not fit makes that request fail with 503
 * `WAF_ERR_OVERLOADED` (see readBody) while the bodies already held go on.
 */
import type { ServerResponse } from 'node:http';

export class BodyBudget {
  private used = 0;

  /** `max` 0: no bound (bytes are still counted). */
  constructor(readonly max: number) {}

  /** Charges `n` bytes; false (nothing charged) when they do not fit. */
  take(n: number): boolean {
    if (this.max > 0 && this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }

  /** `n` bytes charged for a request go back when its response closes (sent, or the connection gone). */
  holdUntilClosed(res: ServerResponse, n: number): void {
    if (n === 0) return;
    if (res.closed) this.give(n);
    else res.once('close', () => this.give(n));
  }

  /** Bytes held now. */
  get held(): number {
    return this.used;
  }
}
