/** Response cache (off by default, per site/route): RFC 9111 freshness, Vary, in-memory LRU bounded by bytes, purge by path. */
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { BulwarkConfig } from '../config.ts';
import { createRedisClient, type RedisLike } from '../store/redis-client.ts';
import { redisTarget, type RedisSection } from '../store/setup.ts';
import { RedisResponseCache } from './cache-redis.ts';

export const cacheSchema = z.strictObject({
  /** Total bytes of cached bodies + headers (LRU eviction beyond). */
  maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** Larger responses are streamed and not stored. */
  maxEntryBytes: z.number().int().positive().default(1024 * 1024),
  /** Also cache requests carrying Authorization or Cookie (only for responses marked `public`). */
  allowAuthorized: z.boolean().default(false),
});
export type CacheConfig = z.output<typeof cacheSchema>;

const CACHEABLE_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 410]);
type Headers = Record<string, string | string[] | number | undefined>;
export type ReqHeaders = Headers;

/** Where entries live: memory (LRU, per process) or Redis (shared by every instance). */
export interface CacheStore {
  lookup(key: string, reqHeaders: Headers, now?: number): Entry | null | Promise<Entry | null>;
  store(key: string, reqHeaders: Headers, status: number, headers: Record<string, string | string[]>, body: Buffer, ttlSec: number, now?: number): boolean | Promise<boolean>;
  /** Remove every entry for a path (all hosts, queries and variants); the number of keys removed. */
  purge(path: string): number | Promise<number>;
  readonly maxEntryBytes: number;
}

/** The path part of a cache key (`host target` → target without its query). */
export function pathOfKey(key: string): string {
  const target = key.slice(key.indexOf(' ') + 1);
  const q = target.indexOf('?');
  return q >= 0 ? target.slice(0, q) : target;
}

/** Lower-case header names a response varies on. */
export function varyOf(headers: Record<string, string | string[]>): string[] {
  return first(headers.vary).split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
}

/** True when a stored variant answers a request with these headers. */
export function variantMatches(e: Pick<Entry, 'vary' | 'varyValues'>, reqHeaders: Headers): boolean {
  return e.vary.every((h, j) => first(reqHeaders[h]) === e.varyValues[j]);
}

export interface Entry {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  storedAt: number;
  expiresAt: number;
  vary: string[];
  varyValues: string[];
  size: number;
}

function first(v: unknown): string {
  return Array.isArray(v) ? String(v[0] ?? '') : v === undefined ? '' : String(v);
}

/** Cache-Control directives (lower-case name → value or ''). */
export function directives(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const s = Array.isArray(v) ? v.join(',') : v === undefined ? '' : String(v);
  for (const part of s.split(',')) {
    const [k, ...rest] = part.trim().split('=');
    if (k) out.set(k.toLowerCase(), rest.join('=').replace(/^"|"$/g, ''));
  }
  return out;
}

/** Seconds a response may be served by a shared cache, or null when it must not be stored (RFC 9111 §3, §4.2.1). */
export function freshnessSeconds(status: number, headers: Headers, now = Date.now(), authorized = false): number | null {
  if (!CACHEABLE_STATUS.has(status)) return null;
  if (headers['set-cookie'] !== undefined) return null;
  const cc = directives(headers['cache-control']);
  if (cc.has('no-store') || cc.has('private') || cc.has('no-cache')) return null;
  if (authorized && !cc.has('public') && !cc.has('s-maxage')) return null;
  if (first(headers.vary).trim() === '*') return null;
  for (const d of ['s-maxage', 'max-age']) {
    if (cc.has(d)) {
      const n = Number(cc.get(d));
      return Number.isInteger(n) && n > 0 ? n : null;
    }
  }
  const expires = Date.parse(first(headers.expires));
  if (!Number.isFinite(expires)) return null;
  const date = Date.parse(first(headers.date));
  const secs = Math.floor((expires - (Number.isFinite(date) ? date : now)) / 1000);
  return secs > 0 ? secs : null;
}

/** In-memory LRU: key = host + request target; each key holds its Vary variants. */
export class ResponseCache implements CacheStore {
  private readonly map = new Map<string, Entry[]>();
  private bytes = 0;
  constructor(readonly cfg: CacheConfig) {}

  get maxEntryBytes(): number {
    return this.cfg.maxEntryBytes;
  }

  get size(): number {
    return this.bytes;
  }

  lookup(key: string, reqHeaders: Headers, now = Date.now()): Entry | null {
    const variants = this.map.get(key);
    if (!variants) return null;
    const i = variants.findIndex((e) => variantMatches(e, reqHeaders));
    if (i < 0) return null;
    const e = variants[i];
    if (e.expiresAt <= now) {
      variants.splice(i, 1);
      this.bytes -= e.size;
      if (variants.length === 0) this.map.delete(key);
      return null;
    }
    // LRU: most recently used last.
    this.map.delete(key);
    this.map.set(key, variants);
    return e;
  }

  store(key: string, reqHeaders: Headers, status: number, headers: Record<string, string | string[]>, body: Buffer, ttlSec: number, now = Date.now()): boolean {
    const vary = varyOf(headers);
    const size = body.length + JSON.stringify(headers).length + key.length;
    if (size > this.cfg.maxEntryBytes || size > this.cfg.maxBytes) return false;
    const entry: Entry = { status, headers, body, storedAt: now, expiresAt: now + ttlSec * 1000, vary, varyValues: vary.map((h) => first(reqHeaders[h])), size };
    const variants = (this.map.get(key) ?? []).filter((e) => {
      const same = e.vary.join() === vary.join() && e.varyValues.join('\0') === entry.varyValues.join('\0');
      if (same) this.bytes -= e.size;
      return !same;
    });
    variants.push(entry);
    this.map.delete(key);
    this.map.set(key, variants);
    this.bytes += size;
    for (const [k, vs] of this.map) {
      if (this.bytes <= this.cfg.maxBytes) break;
      for (const e of vs) this.bytes -= e.size;
      this.map.delete(k);
    }
    return true;
  }

  /** Remove every entry whose path (target without query) is `path`; returns how many keys went. */
  purge(path: string): number {
    let n = 0;
    for (const k of [...this.map.keys()]) {
      if (pathOfKey(k) === path) {
        for (const e of this.map.get(k)!) this.bytes -= e.size;
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }
}

/** Cache key for a request, or null when the request must bypass the cache. */
export function cacheKey(request: FastifyRequest, cfg: CacheConfig): { key: string; authorized: boolean } | null {
  const m = request.raw.method;
  if (m !== 'GET' && m !== 'HEAD') return null;
  const h = request.raw.headers;
  const authorized = h.authorization !== undefined || h.cookie !== undefined;
  if (authorized && !cfg.allowAuthorized) return null;
  const cc = directives(h['cache-control']);
  if (cc.has('no-store') || cc.has('no-cache') || first(h.pragma) === 'no-cache') return null;
  return { key: `${(h.host ?? '').toLowerCase()} ${request.raw.url}`, authorized };
}

/** Serve a stored entry. */
export function sendHit(reply: FastifyReply, e: Entry, now = Date.now()): FastifyReply {
  reply.code(e.status);
  reply.headers(e.headers);
  reply.header('age', String(Math.max(0, Math.floor((now - e.storedAt) / 1000))));
  reply.header('x-cache', 'HIT');
  return reply.send(e.body);
}

/**
 * One store per cache config (routes that inherit a site's cache share it): an in-memory LRU each, or, when a Redis
 * client is given, Redis (shared by every instance); the handler lookup and the onSend store.
 */
export class Caches {
  private readonly map = new Map<CacheConfig, CacheStore>();
  private readonly pending = new WeakMap<FastifyRequest, { cache: CacheStore; key: string; authorized: boolean }>();

  constructor(private readonly redis: { client: RedisLike; namespace?: string; log?: Pick<Logger, 'warn'> } | null = null) {}

  get kind(): 'memory' | 'redis' {
    return this.redis ? 'redis' : 'memory';
  }

  get(cfg: CacheConfig): CacheStore {
    let c = this.map.get(cfg);
    if (!c) {
      c = this.redis ? new RedisResponseCache(this.redis.client, cfg.maxEntryBytes, this.redis.log, this.redis.namespace) : new ResponseCache(cfg);
      this.map.set(cfg, c);
    }
    return c;
  }

  /** In the handler (after inspection): serve a fresh stored response, or mark the request as a miss to store. */
  async serve(request: FastifyRequest, reply: FastifyReply, cfg: CacheConfig): Promise<FastifyReply | null> {
    const k = cacheKey(request, cfg);
    if (!k) return null;
    const cache = this.get(cfg);
    const hit = await cache.lookup(k.key, request.headers);
    if (hit) return sendHit(reply, hit);
    reply.header('x-cache', 'MISS');
    // Only GET fills the cache (a HEAD response has no body); HEAD is served from GET entries.
    if (request.raw.method === 'GET') this.pending.set(request, { cache, ...k });
    return null;
  }

  /** onSend: tee a cacheable upstream body into the cache while it streams to the client (bounded by maxEntryBytes). */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
    const p = this.pending.get(request);
    if (!p) return payload;
    this.pending.delete(request);
    const headers = reply.getHeaders() as Record<string, string | string[]>;
    const ttl = freshnessSeconds(reply.statusCode, headers, Date.now(), p.authorized);
    if (ttl === null || !payload || typeof (payload as NodeJS.ReadableStream).pipe !== 'function') return payload;
    const stored: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (k !== 'x-request-id' && k !== 'x-cache' && v !== undefined) stored[k] = Array.isArray(v) ? v.map(String) : String(v);
    const status = reply.statusCode;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    const src = payload as NodeJS.ReadableStream;
    const tee = new PassThrough();
    src.on('data', (c: Buffer) => {
      if (!tooBig) {
        size += c.length;
        if (size > p.cache.maxEntryBytes) {
          tooBig = true;
          chunks.length = 0;
        } else chunks.push(c);
      }
    });
    src.once('end', () => {
      if (!tooBig) void Promise.resolve(p.cache.store(p.key, request.headers, status, stored, Buffer.concat(chunks), ttl)).catch(() => undefined);
    });
    src.once('error', (err) => tee.destroy(err));
    src.pipe(tee);
    return tee;
  }

  /** Purge a path from every store (with Redis: once, every instance sees it). */
  async purge(path: string): Promise<number> {
    const stores = this.redis ? [...this.map.values()].slice(0, 1) : [...this.map.values()];
    if (this.redis && stores.length === 0) stores.push(this.get(cacheSchema.parse({})));
    let n = 0;
    for (const c of stores) n += await c.purge(path);
    return n;
  }
}

/**
 * The Caches for a configuration: in Redis when `redis` is configured and some site or route caches, else in memory.
 * `close()` quits the Redis client.
 */
export function createCaches(config: BulwarkConfig, log?: Pick<Logger, 'warn'>): { caches: Caches; close(): Promise<void> } {
  const caching = config.sites.some((s) => s.cache || s.routes.some((r) => r.cache));
  const section = config.redis as RedisSection;
  const target = caching ? redisTarget(section) : null;
  if (!target) return { caches: new Caches(), close: async () => {} };
  const client = createRedisClient(target, { name: 'bulwark-cache' });
  client.on('error', () => undefined); // reconnects with backoff; lookups miss meanwhile (warned by the store)
  client.connect().catch((err: Error) => log?.warn({ err: err.message }, 'cache: Redis unreachable at start; the cache is bypassed until it is'));
  return {
    caches: new Caches({ client, namespace: section.namespace, log }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
