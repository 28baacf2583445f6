/**
 * The response cache in Redis (issue 8), used when `redis` is configured: every instance sees the same entries.
 * One hash per cache key (host + request target) holds its Vary variants; each hash expires with its freshest
 * variant, each variant carries its own expiry; a set per path indexes the hashes so `purge(path)` is one script.
 * Any Redis failure or slowness is a MISS (the request goes to the backend), never an error.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisLike } from '../store/redis-client.ts';
import type { CacheStore, Entry, ReqHeaders } from './cache.ts';
import { pathOfKey, variantMatches, varyOf } from './cache.ts';

/** Redis operations that take longer than this count as a miss (or a skipped store). */
const OP_TIMEOUT_MS = 250;
const WARN_EVERY_MS = 10_000;

const PURGE = `
local members = redis.call('SMEMBERS', KEYS[1])
for _, k in ipairs(members) do redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return #members`;

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('base64url');
}

/** Entry → one Buffer: 4-byte length of the JSON head, the head, the body. */
export function encodeEntry(e: Entry): Buffer {
  const head = Buffer.from(JSON.stringify({ s: e.status, h: e.headers, t: e.storedAt, x: e.expiresAt, v: e.vary, vv: e.varyValues }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, e.body]);
}

export function decodeEntry(b: Buffer): Entry | null {
  if (b.length < 4) return null;
  const n = b.readUInt32BE(0);
  if (4 + n > b.length) return null;
  try {
    const h = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as { s: number; h: Entry['headers']; t: number; x: number; v: string[]; vv: string[] };
    return { status: h.s, headers: h.h, storedAt: h.t, expiresAt: h.x, vary: h.v, varyValues: h.vv, body: b.subarray(4 + n), size: b.length };
  } catch {
    return null;
  }
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis cache operation took over ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class RedisResponseCache implements CacheStore {
  private lastWarn = 0;
  private readonly prefix: string;

  constructor(
    private readonly client: RedisLike,
    readonly maxEntryBytes: number,
    private readonly log?: Pick<Logger, 'warn'>,
    namespace = 'bulwark',
  ) {
    this.prefix = `{${namespace}}:cache:`;
  }

  private warn(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.log?.warn({ err: (err as Error).message }, `cache: Redis ${what} failed; the cache is bypassed while Redis is unreachable`);
  }

  private entryKey(key: string): string {
    return `${this.prefix}e:${sha1(key)}`;
  }

  private pathKey(path: string): string {
    return `${this.prefix}p:${sha1(path)}`;
  }

  async lookup(key: string, reqHeaders: ReqHeaders, now = Date.now()): Promise<Entry | null> {
    let all: Record<string, Buffer>;
    try {
      all = await withTimeout(this.client.hgetallBuffer(this.entryKey(key)));
    } catch (err) {
      this.warn(err, 'lookup');
      return null;
    }
    for (const blob of Object.values(all)) {
      const e = decodeEntry(blob);
      if (e && e.expiresAt > now && variantMatches(e, reqHeaders)) return e;
    }
    return null;
  }

  async store(key: string, reqHeaders: ReqHeaders, status: number, headers: Record<string, string | string[]>, body: Buffer, ttlSec: number, now = Date.now()): Promise<boolean> {
    const vary = varyOf(headers);
    const entry: Entry = { status, headers, body, storedAt: now, expiresAt: now + ttlSec * 1000, vary, varyValues: vary.map((h) => first(reqHeaders[h])), size: 0 };
    const blob = encodeEntry(entry);
    if (blob.length > this.maxEntryBytes) return false;
    const ek = this.entryKey(key);
    const pk = this.pathKey(pathOfKey(key));
    const ttlMs = ttlSec * 1000;
    try {
      await withTimeout(
        this.client
          .multi()
          .hset(ek, sha1(`${vary.join(',')}\n${entry.varyValues.join('\0')}`), blob)
          .pexpire(ek, ttlMs, 'GT')
          .pexpire(ek, ttlMs, 'NX')
          .sadd(pk, ek)
          .pexpire(pk, ttlMs, 'GT')
          .pexpire(pk, ttlMs, 'NX')
          .exec(),
      );
      return true;
    } catch (err) {
      this.warn(err, 'store');
      return false;
    }
  }

  async purge(path: string): Promise<number> {
    return Number(await withTimeout(this.client.eval(PURGE, 1, this.pathKey(path)) as Promise<number>));
  }
}

function first(v: unknown): string {
  return Array.isArray(v) ? String(v[0] ?? '') : v === undefined ? '' : String(v);
}
