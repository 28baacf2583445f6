/**
 * "Refused until T" for counter keys Redis has just refused, kept in process memory: while a client floods over a
 * limit, its requests are refused here and never reach Redis. T comes from the counter's own TTL in Redis, so the
 * answer is the one Redis would give. An unban (any change on the bans channel) clears it at every instance.
 */
export class BlockedCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  /** ms left for this key, or 0 when it is not known to be refused. */
  msLeft(key: string, now: number): number {
    const t = this.until.get(key);
    if (t === undefined) return 0;
    if (t > now) return t - now;
    this.until.delete(key);
    return 0;
  }

  set(key: string, untilMs: number): void {
    if (this.until.size >= this.maxEntries && !this.until.has(key)) this.prune(Date.now());
    this.until.set(key, untilMs);
  }

  delete(key: string): void {
    this.until.delete(key);
  }

  clear(): void {
    this.until.clear();
  }

  get size(): number {
    return this.until.size;
  }

  /** Drops expired entries; if the map is still full, forgets everything (Redis still has the truth). */
  private prune(now: number): void {
    for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    if (this.until.size >= this.maxEntries) this.until.clear();
  }
}
