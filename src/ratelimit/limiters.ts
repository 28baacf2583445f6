/**
 * rate-limiter-flexible counters: RateLimiterRedis (shared by all instances) with an in-memory insurance limiter per
 * instance for when Redis is unreachable, or RateLimiterMemory alone without Redis. Login and attack counters use
 * them as they are; policies count in Redis through policy-script.ts (same keys, same format) and use the memory
 * limiters built here as their insurance.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/** A steady-rate limiter, plus an optional burst pool consulted only when the steady one says no. */
export interface Limiter {
  main: RateLimiterAbstract;
  burst?: RateLimiterAbstract;
}

export interface LimiterSpec {
  prefix: string;
  points: number;
  durationSec: number;
  /** Extra requests allowed above the rate, refilled every `burstDurationSec`. */
  burst?: number;
  burstDurationSec?: number;
}

/** Where every rate-limit counter lives in Redis (one Cluster slot: the `{bulwark}` hash tag). */
export const REDIS_PREFIX = '{bulwark}:rl:';

/** Builds a Redis limiter with memory insurance, or a memory limiter when there is no Redis. */
export function makeLimiter(spec: LimiterSpec, redis: Redis | null): Limiter {
  const one = (prefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix: prefix, points, duration });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${REDIS_PREFIX}${prefix}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const main = one(spec.prefix, spec.points, spec.durationSec);
  if (!spec.burst) return { main };
  return { main, burst: one(`${spec.prefix}:burst`, spec.burst, spec.burstDurationSec ?? spec.durationSec * 10) };
}

export interface ConsumeResult {
  allowed: boolean;
  res: RateLimiterRes;
}

/** Consumes points; a rejection is a result, and a store error (no insurance left) counts as allowed (fail open, logged by the caller). */
export async function consume(limiter: Limiter, key: string, points = 1): Promise<ConsumeResult | { error: Error }> {
  const r = await consumeOne(limiter.main, key, points);
  if (!limiter.burst || 'error' in r || r.allowed) return r;
  const b = await consumeOne(limiter.burst, key, points);
  return 'error' in b || !b.allowed ? r : b;
}

async function consumeOne(limiter: RateLimiterAbstract, key: string, points: number): Promise<ConsumeResult | { error: Error }> {
  try {
    return { allowed: true, res: await limiter.consume(key, points) };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { allowed: false, res: err };
    return { error: err as Error };
  }
}

/** Blocks a key in the steady limiter for `sec` seconds. */
export function block(limiter: Limiter, key: string, sec: number): Promise<unknown> {
  return limiter.main.block(key, sec);
}

/** Current state of a key without consuming. */
export function peek(limiter: Limiter, key: string): Promise<RateLimiterRes | null> {
  return limiter.main.get(key);
}

/** Forgets a key (both pools). */
export async function reset(limiter: Limiter, key: string): Promise<void> {
  await Promise.all([limiter.main.delete(key), limiter.burst?.delete(key)]);
}
