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

/** Per policy: KEYS main, burst, strikes; ARGV points, durationMs, burst, burstDurationMs, blockMs. */
const LUA = `
local factor = tonumber(ARGV[1])
local maxBlock = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local out = {}
local function hit(key, ms)
  local c = redis.call('incr', key)
  if c == 1 then
    redis.call('pexpire', key, ms)
    return c, ms
  end
  local ttl = redis.call('pttl', key)
  if ttl < 0 then
    redis.call('pexpire', key, ms)
    ttl = ms
  end
  return c, ttl
end
for i = 0, #KEYS / 3 - 1 do
  local a = 3 + i * 5
  local points = tonumber(ARGV[a + 1])
  local burst = tonumber(ARGV[a + 3])
  local block = tonumber(ARGV[a + 5])
  local c, ttl = hit(KEYS[i * 3 + 1], tonumber(ARGV[a + 2]))
  local allowed, remaining, reset, first, sure = 1, points - c, ttl, 0, 0
  local bttl = -1
  if c > points then
    allowed = 0
    remaining = 0
    if burst > 0 then
      local b
      b, bttl = hit(KEYS[i * 3 + 2], tonumber(ARGV[a + 4]))
      if b <= burst then
        allowed, remaining, reset = 1, burst - b, bttl
      elseif b == burst + 1 or c == points + 1 then
        first = 1
      end
    elseif c == points + 1 then
      first = 1
    end
    if first == 1 and block > 0 then
      local s = hit(KEYS[i * 3 + 3], window)
      local ms = math.floor(math.min(maxBlock, block * factor ^ (s - 1)))
      redis.call('set', KEYS[i * 3 + 1], points + 1, 'PX', ms)
      reset = ms
    end
    if allowed == 0 then
      sure = reset
      if bttl >= 0 and bttl < sure then sure = bttl end
    end
  end
  out[#out + 1] = allowed
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = first
  out[#out + 1] = sure
end
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

/** One policy's part of a script call. */
export interface ScriptPolicy {
  /** Full Redis keys (already prefixed). */
  mainKey: string;
  burstKey: string;
  strikesKey: string;
  points: number;
  durationMs: number;
  burst: number;
  burstDurationMs: number;
  /** 0 = no block on refusal (the request is refused until the window resets). */
  blockMs: number;
}

/** What the script says about one policy. */
export interface ScriptResult {
  allowed: boolean;
  remaining: number;
  /** ms until the counter (or the block just set) expires. */
  resetMs: number;
  /** The first refusal in this window (the one that set an escalated block). */
  first: boolean;
  /** For a refusal: ms during which every further request is sure to be refused too (no burst refill before). */
  refusedMs: number;
}

/** Escalation settings shared by every policy: block = blockSec × factor^(strikes-1), capped; strikes kept `windowMs`. */
export interface Escalation {
  factor: number;
  maxBlockMs: number;
  windowMs: number;
}

/** Counts one request against the first `count` entries of `policies` with one EVALSHA; one result per policy. */
export async function runRateScript(redis: Redis | Cluster, esc: Escalation, policies: readonly ScriptPolicy[], count: number): Promise<ScriptResult[]> {
  const args: Array<string | number> = new Array(1 + count * 3 + 3 + count * 5);
  let k = 1;
  let a = 1 + count * 3;
  args[0] = count * 3;
  args[a++] = esc.factor;
  args[a++] = esc.maxBlockMs;
  args[a++] = esc.windowMs;
  for (let i = 0; i < count; i++) {
    const p = policies[i];
    args[k++] = p.mainKey;
    args[k++] = p.burstKey;
    args[k++] = p.strikesKey;
    args[a++] = p.points;
    args[a++] = p.durationMs;
    args[a++] = p.burst;
    args[a++] = p.burstDurationMs;
    args[a++] = p.blockMs;
  }
  const fn = (redis as ScriptClient)[COMMAND];
  if (!fn) throw new Error('rate-limit script not defined on this client');
  const raw = await fn.apply(redis, args as [number, ...Array<string | number>]);
  const out: ScriptResult[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const j = i * 5;
    out[i] = { allowed: raw[j] === 1, remaining: Math.max(0, raw[j + 1]), resetMs: Math.max(0, raw[j + 2]), first: raw[j + 3] === 1, refusedMs: Math.max(0, raw[j + 4]) };
  }
  return out;
}
