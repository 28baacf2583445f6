/**
 * All the policies that match one request, counted in Redis by ONE Lua script call (EVALSHA): the steady counter,
 * the burst pool when the steady one says no, and, on the first refusal, the escalating block with its strike
 * counter. So a request costs one command and one round trip whatever the number of policies, and limiting, escalating
 * and blocking cost no extra trip either.
 *
 * Keys and values are those of rate-limiter-flexible's RateLimiterRedis (a plain integer with a TTL under
 * `{bulwark}:rl:<prefix>:<key>`, a block being `points + 1` with the block's TTL), so its `get`/`delete`/`block`
 * (used by login counters, unban and the in-memory insurance path) read and write the same counters. Every key
 * carries the `{bulwark}` hash tag: one Cluster slot, so one script may touch them all.
 */
import type { Cluster, Redis } from 'ioredis';

/**
 * ARGV[1] = "factor maxBlockMs windowMs"; ARGV[1 + i] = policy i's spec "points durationMs burst burstDurationMs blockMs"
 * (precomputed per policy set). KEYS: per policy its counter, then its burst pool if burst > 0, then its strike
 * counter if blockMs > 0. A counter is INCR'd (PEXPIRE when new); its PTTL is read only when the answer needs it: for
 * a refusal, and for the allowed policy with the fewest requests left (the one the RateLimit-* headers describe).
 * Per policy the reply is: allowed, remaining, resetMs (-1 = not read), first refusal, ms the refusal is sure to last.
 */
const LUA = `
local function ttlOf(key, ms)
  local ttl = redis.call('pttl', key)
  if ttl < 0 then
    redis.call('pexpire', key, ms)
    ttl = ms
  end
  return ttl
end
local function hit(key, ms)
  local c = redis.call('incr', key)
  if c == 1 then
    redis.call('pexpire', key, ms)
    return c, ms
  end
  return c, ttlOf(key, ms)
end
local out = {}
local k = 1
local tight, tightLeft, tightKey, tightDur = -1, 0, nil, 0
for i = 2, #ARGV do
  local p, d, b, bd, bl = string.match(ARGV[i], '(%d+) (%d+) (%d+) (%d+) (%d+)')
  local points, dur, burst, block = tonumber(p), tonumber(d), tonumber(b), tonumber(bl)
  local main = KEYS[k]
  k = k + 1
  local burstKey, strikesKey
  if burst > 0 then burstKey = KEYS[k]; k = k + 1 end
  if block > 0 then strikesKey = KEYS[k]; k = k + 1 end
  local c = redis.call('incr', main)
  local ttl = -1
  if c == 1 then
    redis.call('pexpire', main, dur)
    ttl = dur
  end
  local allowed, remaining, reset, first, sure = 1, points - c, ttl, 0, 0
  if c > points then
    if ttl < 0 then ttl = ttlOf(main, dur) end
    allowed, remaining, reset = 0, 0, ttl
    local bttl = -1
    if burst > 0 then
      local n
      n, bttl = hit(burstKey, tonumber(bd))
      if n <= burst then
        allowed, remaining, reset = 1, burst - n, bttl
      elseif n == burst + 1 or c == points + 1 then
        first = 1
      end
    elseif c == points + 1 then
      first = 1
    end
    if first == 1 and block > 0 then
      local factor, maxBlock, window = string.match(ARGV[1], '^(%S+) (%S+) (%S+)$')
      factor, maxBlock, window = tonumber(factor), tonumber(maxBlock), tonumber(window)
      local s = hit(strikesKey, window)
      local ms = math.floor(math.min(maxBlock, block * factor ^ (s - 1)))
      redis.call('set', main, points + 1, 'PX', ms)
      reset = ms
    end
    if allowed == 0 then
      sure = reset
      if bttl >= 0 and bttl < sure then sure = bttl end
    end
  end
  local j = #out
  out[j + 1] = allowed
  out[j + 2] = remaining
  out[j + 3] = reset
  out[j + 4] = first
  out[j + 5] = sure
  if allowed == 1 and (tight < 0 or remaining < tightLeft) then
    tight, tightLeft, tightKey, tightDur = j, remaining, main, dur
  end
end
if tight >= 0 and out[tight + 3] < 0 then out[tight + 3] = ttlOf(tightKey, tightDur) end
return out
`;

const COMMAND = 'bulwarkRateCheck';

type ScriptClient = (Redis | Cluster) & {
  [COMMAND]?: (numKeys: number, ...args: Array<string | number>) => Promise<number[]>;
};

/** Registers the script on a client (ioredis sends EVALSHA and falls back to EVAL once after a restart). */
export function defineRateScript(redis: Redis | Cluster): void {
  if (!(redis as ScriptClient)[COMMAND]) redis.defineCommand(COMMAND, { lua: LUA });
}

/** Escalation settings shared by every policy: block = blockSec × factor^(strikes-1), capped; strikes kept `windowMs`. */
export interface Escalation {
  factor: number;
  maxBlockMs: number;
  windowMs: number;
}

/** ARGV[1] of the script, computed once per policy set. */
export function escalationArg(e: Escalation): string {
  return `${e.factor} ${Math.round(e.maxBlockMs)} ${Math.max(1, Math.round(e.windowMs))}`;
}

/** A policy's part of the script, computed once per policy set. */
export interface ScriptSpec {
  /** "points durationMs burst burstDurationMs blockMs" */
  arg: string;
  hasBurst: boolean;
  hasBlock: boolean;
}

export function scriptSpec(points: number, durationMs: number, burst: number, burstDurationMs: number, blockMs: number): ScriptSpec {
  const int = (n: number) => Math.max(0, Math.round(n));
  return { arg: `${int(points)} ${Math.max(1, int(durationMs))} ${int(burst)} ${Math.max(1, int(burstDurationMs))} ${int(blockMs)}`, hasBurst: burst > 0, hasBlock: blockMs > 0 };
}

/**
 * Sends one EVALSHA. `args` is [numKeys, ...keys, escalationArg, ...spec.arg] as built by the caller. The reply has
 * five numbers per policy, in order: allowed (1/0), remaining, resetMs (-1 when not read), first refusal (1/0), and
 * for a refusal the ms it is sure to last.
 */
export function runRateScript(redis: Redis | Cluster, args: Array<string | number>): Promise<number[]> {
  const fn = (redis as ScriptClient)[COMMAND];
  if (!fn) return Promise.reject(new Error('rate-limit script not defined on this client'));
  return fn.apply(redis, args as [number, ...Array<string | number>]);
}
