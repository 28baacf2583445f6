/** Keep-alive connection pools to the upstreams (one undici Pool per origin). */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { BulwarkConfig } from '../config.ts';

export class Upstreams {
  private readonly pools = new Map<string, Pool>();
  private closed = false;
  /** https:// upstreams are verified against this CA when configured (read once at start). */
  private readonly ca: Buffer | undefined;

  constructor(private readonly config: BulwarkConfig, origins: string[] = []) {
    this.ca = config.proxy.upstreamCaFile ? readFileSync(config.proxy.upstreamCaFile) : undefined;
    for (const o of origins) this.get(o);
  }

  /** The pool for an origin (created on first use). */
  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.config.proxy.connectionsPerUpstream,
        pipelining: 1,
        connectTimeout: this.config.proxy.connectTimeoutMs,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        // Response headers are bounded like the client's (a backend cannot make us buffer without limit).
        maxHeaderSize: 64 * 1024,
        ...(this.ca && origin.startsWith('https:') ? { connect: { ca: this.ca } } : {}),
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Finish in-flight requests, then close every pool. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
  }
}
