/** Response cache (off by default, per site/route): RFC 9111 freshness, Vary, in-memory LRU bounded by bytes, purge by path. */
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

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
export class ResponseCache {
  private readonly map = new Map<string, Entry[]>();
  private bytes = 0;
  constructor(readonly cfg: CacheConfig) {}

  get size(): number {
    return this.bytes;
  }

  lookup(key: string, reqHeaders: Headers, now = Date.now()): Entry | null {
    const variants = this.map.get(key);
    if (!variants) return null;
    const i = variants.findIndex((e) => e.vary.every((h, j) => first(reqHeaders[h]) === e.varyValues[j]));
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
    const vary = first(headers.vary).split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
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
      const target = k.slice(k.indexOf(' ') + 1);
      const q = target.indexOf('?');
      if ((q >= 0 ? target.slice(0, q) : target) === path) {
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

/** One ResponseCache per cache config (routes that inherit a site's cache share it), the handler lookup and the onSend store. */
export class Caches {
  private readonly map = new Map<CacheConfig, ResponseCache>();
  private readonly pending = new WeakMap<FastifyRequest, { cache: ResponseCache; key: string; authorized: boolean }>();

  get(cfg: CacheConfig): ResponseCache {
    let c = this.map.get(cfg);
    if (!c) this.map.set(cfg, (c = new ResponseCache(cfg)));
    return c;
  }

  /** In the handler (after inspection): serve a fresh stored response, or mark the request as a miss to store. */
  serve(request: FastifyRequest, reply: FastifyReply, cfg: CacheConfig): FastifyReply | null {
    const k = cacheKey(request, cfg);
    if (!k) return null;
    const cache = this.get(cfg);
    const hit = cache.lookup(k.key, request.headers);
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
        if (size > p.cache.cfg.maxEntryBytes) {
          tooBig = true;
          chunks.length = 0;
        } else chunks.push(c);
      }
    });
    src.once('end', () => {
      if (!tooBig) p.cache.store(p.key, request.headers, status, stored, Buffer.concat(chunks), ttl);
    });
    src.once('error', (err) => tee.destroy(err));
    src.pipe(tee);
    return tee;
  }

  purge(path: string): number {
    let n = 0;
    for (const c of this.map.values()) n += c.purge(path);
    return n;
  }
}
