/**
 * The rate-limit service: per-request policy checks with escalating blocks, attack-driven bans, login brute-force
 * counting from the backend's answers, all shared through Redis when it is there (memory insurance when it is not).
 */
import type { Redis } from 'ioredis';
import type { RatePolicy } from '../types.ts';
import { BanList, type Ban } from './bans.ts';
import { BlockedCache } from './blocked-cache.ts';
import { clientKey } from './ip-key.ts';
import { block, consume, makeLimiter, peek, REDIS_PREFIX, reset, type Limiter } from './limiters.ts';
import { compilePolicies, type CompiledPolicy, type PolicyRequest } from './policy-match.ts';
import { defineRateScript, escalationArg, runRateScript, scriptSpec, type ScriptSpec } from './policy-script.ts';
import { rateLimitHeaders, type LimitState } from './headers.ts';

export interface LoginPolicy {
  name: string;
  pathPrefix: string;
  methods?: string[];
  /** Form/JSON field that names the account. */
  field: string;
  /** Backend statuses that mean "login failed" (e.g. 401, 403, or 200 for Django's re-rendered form). */
  failureStatus: number[];
  perUserIp: { points: number; durationSec: number; blockSec?: number };
  perIpDay?: { points: number };
}

export interface RateLimitConfig {
  ipv6Prefix: number;
  /** The default per-IP ceiling, applied to every request. */
  global?: { points: number; durationSec: number; blockSec?: number } | null;
  policies: RatePolicy[];
  escalation: { factor: number; maxBlockSec: number; windowSec: number };
  attackBan: { threshold: number; windowSec: number; banSec: number } | null;
  login: LoginPolicy[];
  allow: string[];
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = {
  ipv6Prefix: 64,
  global: { points: 1200, durationSec: 60, blockSec: 60 },
  policies: [],
  escalation: { factor: 2, maxBlockSec: 3600, windowSec: 3600 },
  attackBan: { threshold: 20, windowSec: 600, banSec: 3600 },
  login: [],
  allow: [],
};

export type LimitDecision =
  | { action: 'allow'; headers?: Record<string, string> }
  | { action: 'rate-limit'; policy: string; retryAfterSec: number; headers: Record<string, string> }
  | { action: 'ban'; policy: string; ban: Ban };

const ALLOW: LimitDecision = Object.freeze({ action: 'allow' }) as LimitDecision;

interface Entry {
  compiled: CompiledPolicy;
  /** In-memory counters: the only store without Redis, the insurance while Redis is unreachable. */
  memory: Limiter;
  memoryStrikes: Limiter;
  /** Redis key prefixes, in rate-limiter-flexible's layout (`{bulwark}:rl:p:NAME:` + key). */
  mainPrefix: string;
  burstPrefix: string;
  strikesPrefix: string;
  /** The policy's part of the Redis script call. */
  spec: ScriptSpec;
}

interface LoginEntry {
  policy: LoginPolicy;
  methods: string[];
  perUserIp: Limiter;
  perIpDay: Limiter | null;
}

/** One policy's outcome for one request, whichever store counted it. */
interface Outcome {
  e: Entry;
  key: string;
  allowed: boolean;
  remaining: number;
  resetMs: number;
  first: boolean;
}

export interface RateLimitDeps {
  redis?: Redis | null;
  subscriber?: Redis | null;
  warn?: (msg: string, err?: unknown) => void;
  /** Called once per decision kind for metrics. */
  onDecision?: (kind: 'allow' | 'rate-limit' | 'ban' | 'degraded', policy?: string) => void;
}

export class RateLimitService {
  readonly bans: BanList;
  private requestEntries: Entry[] = [];
  private bodyEntries: Entry[] = [];
  private logins: LoginEntry[] = [];
  private attackCounter: Limiter | null = null;
  private escalationArg = '1 0 1';
  private readonly redis: Redis | null;
  /** Keys Redis refused, until their TTL ends: a flood over a limit is refused without a round trip. */
  readonly blocked = new BlockedCache();
  private warnedAt = 0;

  constructor(private cfg: RateLimitConfig, private readonly deps: RateLimitDeps = {}) {
    this.redis = deps.redis ?? null;
    if (this.redis) defineRateScript(this.redis);
    this.bans = new BanList({ redis: this.redis, subscriber: deps.subscriber ?? null, allow: cfg.allow, onChange: () => this.blocked.clear() });
    this.setPolicies(cfg);
  }

  async start(): Promise<void> {
    await this.bans.start();
  }

  /** Swaps in a new policy set (from config or the rule store); counters in Redis survive the swap. */
  setPolicies(cfg: RateLimitConfig): void {
    const all: RatePolicy[] = [];
    if (cfg.global) all.push({ name: 'global-ip', key: 'ip', ...cfg.global });
    all.push(...cfg.policies);
    const entries: Entry[] = compilePolicies(all).map((compiled) => {
      const p = compiled.policy;
      const spec = { prefix: `p:${p.name}`, points: p.points, durationSec: p.durationSec, burst: p.burst };
      return {
        compiled,
        memory: makeLimiter(spec, null),
        memoryStrikes: makeLimiter({ prefix: `s:${p.name}`, points: 1_000_000, durationSec: cfg.escalation.windowSec }, null),
        mainPrefix: `${REDIS_PREFIX}p:${p.name}:`,
        burstPrefix: `${REDIS_PREFIX}p:${p.name}:burst:`,
        strikesPrefix: `${REDIS_PREFIX}s:${p.name}:`,
        spec: scriptSpec(p.points, p.durationSec * 1000, p.burst ?? 0, p.durationSec * 10_000, p.blockSec ? Math.max(1, p.blockSec * 1000) : 0),
      };
    });
    this.logins = cfg.login.map((policy) => ({
      policy,
      methods: (policy.methods ?? ['POST']).map((m) => m.toUpperCase()),
      perUserIp: makeLimiter({ prefix: `l:${policy.name}:u`, points: policy.perUserIp.points, durationSec: policy.perUserIp.durationSec }, this.redis),
      perIpDay: policy.perIpDay ? makeLimiter({ prefix: `l:${policy.name}:d`, points: policy.perIpDay.points, durationSec: 86400 }, this.redis) : null,
    }));
    this.attackCounter = cfg.attackBan
      ? makeLimiter({ prefix: 'attacks', points: cfg.attackBan.threshold, durationSec: cfg.attackBan.windowSec }, this.redis)
      : null;
    this.escalationArg = escalationArg({ factor: cfg.escalation.factor, maxBlockMs: cfg.escalation.maxBlockSec * 1000, windowMs: cfg.escalation.windowSec * 1000 });
    this.requestEntries = entries.filter((e) => e.compiled.phase === 'request');
    this.bodyEntries = entries.filter((e) => e.compiled.phase === 'body');
    this.blocked.clear();
    this.cfg = cfg;
  }

  /** Whether the body phase has anything to check (field-keyed policies or login policies). */
  get hasBodyPhase(): boolean {
    return this.bodyEntries.length > 0 || this.logins.length > 0;
  }

  /** True while Redis is configured but not usable: counters are per instance until it returns. */
  degraded(): boolean {
    return this.redis !== null && this.redis.status !== 'ready';
  }

  private noteDegraded(): void {
    this.deps.onDecision?.('degraded');
    const now = Date.now();
    if (now - this.warnedAt > 10_000) {
      this.warnedAt = now;
      this.deps.warn?.('rate limiting: Redis unreachable, using per-instance in-memory counters');
    }
  }

  /** Ban check (no I/O): allow-list beats ban. */
  checkBan(ip: string): LimitDecision {
    const ban = this.bans.bannedUntil(ip);
    if (!ban) return ALLOW;
    this.deps.onDecision?.('ban', `ban:${ban.reason}`);
    return { action: 'ban', policy: `ban:${ban.reason}`, ban };
  }

  /**
   * Counts the request against every matching policy of a phase and returns the strictest answer. With Redis this is
   * one script call (one command, one round trip) for all of them; keys known to be refused are answered from memory.
   */
  async check(req: PolicyRequest, phase: 'request' | 'body'): Promise<LimitDecision> {
    const entries = phase === 'request' ? this.requestEntries : this.bodyEntries;
    const logins = phase === 'body' && this.logins.length > 0;
    if (entries.length === 0 && !logins) return ALLOW;
    if (this.bans.isAllowed(req.clientIp)) return ALLOW;
    const ipKey = clientKey(req.clientIp, this.cfg.ipv6Prefix);
    const matched: Entry[] = [];
    const keys: string[] = [];
    for (const e of entries) {
      if (!e.compiled.matches(req)) continue;
      const key = e.compiled.keyFor(req, ipKey);
      if (key === null) continue;
      matched.push(e);
      keys.push(key);
    }
    // Login locks are read in the same tick as the policies are counted, so auto-pipelining sends both at once.
    let locked: Promise<LimitDecision | null> | null = null;
    if (logins) {
      for (const l of this.logins) {
        if (!l.methods.includes(req.method) || !req.path.startsWith(l.policy.pathPrefix)) continue;
        const next = this.loginLocked(l, req, ipKey);
        locked = locked ? locked.then((d) => d ?? next) : next;
      }
    }
    if (matched.length === 0) return (locked && (await locked)) || ALLOW;
    const counted = this.count(matched, keys);
    const lockedDecision = locked && (await locked);
    const outcomes = await counted;
    if (lockedDecision) return lockedDecision;
    return this.decide(outcomes);
  }

  /** Counts in Redis when it is usable, else (or if the call fails) in the per-instance memory counters. */
  private async count(matched: Entry[], keys: string[]): Promise<Outcome[] | LimitDecision> {
    const redis = this.redis;
    if (redis === null) return this.countInMemory(matched, keys);
    if (redis.status !== 'ready') {
      this.noteDegraded();
      return this.countInMemory(matched, keys);
    }
    const now = Date.now();
    const n = matched.length;
    // [numKeys, ...keys, escalation, ...specs]
    const redisKeys: string[] = [];
    const specs: string[] = [this.escalationArg];
    let knownMs = 0;
    let known: Entry | null = null;
    for (let i = 0; i < n; i++) {
      const e = matched[i];
      const mainKey = e.mainPrefix + keys[i];
      const ms = this.blocked.msLeft(mainKey, now);
      if (ms > knownMs) {
        knownMs = ms;
        known = e;
      }
      redisKeys.push(mainKey);
      if (e.spec.hasBurst) redisKeys.push(e.burstPrefix + keys[i]);
      if (e.spec.hasBlock) redisKeys.push(e.strikesPrefix + keys[i]);
      specs.push(e.spec.arg);
    }
    if (known) return this.refused(known, knownMs);
    let raw: number[];
    try {
      raw = await runRateScript(redis, [redisKeys.length, ...redisKeys, ...specs]);
    } catch (err) {
      this.deps.warn?.('rate limiting: Redis call failed, counted in memory for this request', err);
      return this.countInMemory(matched, keys);
    }
    const after = Date.now();
    const out: Outcome[] = new Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 5) {
      const allowed = raw[j] === 1;
      if (!allowed && raw[j + 4] > 0) this.blocked.set(matched[i].mainPrefix + keys[i], after + raw[j + 4]);
      out[i] = { e: matched[i], key: keys[i], allowed, remaining: Math.max(0, raw[j + 1]), resetMs: raw[j + 2], first: raw[j + 3] === 1 };
    }
    return out;
  }

  private async countInMemory(matched: Entry[], keys: string[]): Promise<Outcome[]> {
    const results = await Promise.all(matched.map((e, i) => consume(e.memory, keys[i])));
    const out: Outcome[] = [];
    let limited: Outcome | null = null;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const e = matched[i];
      if ('error' in r) {
        this.deps.warn?.(`rate limit ${e.compiled.policy.name}: store error, request allowed`, r.error);
        continue;
      }
      const p = e.compiled.policy;
      const o: Outcome = { e, key: keys[i], allowed: r.allowed, remaining: r.res.remainingPoints, resetMs: r.res.msBeforeNext, first: false };
      if (!r.allowed) {
        o.first = r.res.consumedPoints === p.points + 1 + (p.burst ?? 0) || r.res.consumedPoints === p.points + 1;
        if (!limited || o.resetMs > limited.resetMs) limited = o;
      }
      out.push(o);
    }
    if (limited?.first && limited.e.compiled.policy.blockSec) {
      limited.resetMs = (await this.escalateInMemory(limited.e, limited.key, limited.e.compiled.policy.blockSec)) * 1000;
    }
    return out;
  }

  /** The answer for a key known (from memory) to be refused for `ms` more. */
  private refused(e: Entry, ms: number): LimitDecision {
    const p = e.compiled.policy;
    this.deps.onDecision?.('rate-limit', p.name);
    const state: LimitState = { limit: p.points, remaining: 0, resetSec: ms / 1000, windowSec: p.durationSec };
    return { action: 'rate-limit', policy: p.name, retryAfterSec: Math.max(1, Math.ceil(ms / 1000)), headers: rateLimitHeaders(state, true) };
  }

  /** The strictest answer: the refusal that lasts longest, else the allowance with the fewest requests left. */
  private decide(outcomes: Outcome[] | LimitDecision): LimitDecision {
    if (!Array.isArray(outcomes)) return outcomes;
    let tightest: Outcome | null = null;
    let limited: Outcome | null = null;
    for (const o of outcomes) {
      if (!o.allowed) {
        if (!limited || o.resetMs > limited.resetMs) limited = o;
      } else if (!tightest || o.remaining < tightest.remaining) {
        tightest = o;
      }
    }
    if (limited) return this.refused(limited.e, limited.resetMs);
    this.deps.onDecision?.('allow');
    if (!tightest) return ALLOW;
    const p = tightest.e.compiled.policy;
    // The script reads the counter's TTL for this one policy (the first with the fewest left, as chosen here).
    return { action: 'allow', headers: rateLimitHeaders({ limit: p.points, remaining: tightest.remaining, resetSec: Math.max(0, tightest.resetMs) / 1000, windowSec: p.durationSec }, false) };
  }

  /** Memory path: blocks a key for blockSec × factor^(strikes-1), capped (the script does the same in Redis); returns seconds. */
  private async escalateInMemory(e: Entry, key: string, blockSec: number): Promise<number> {
    const s = await consume(e.memoryStrikes, key);
    const strikes = 'error' in s ? 1 : s.res.consumedPoints;
    const { factor, maxBlockSec } = this.cfg.escalation;
    const sec = Math.min(maxBlockSec, blockSec * Math.pow(factor, Math.max(0, strikes - 1)));
    try {
      await block(e.memory, key, sec);
    } catch (err) {
      this.deps.warn?.(`rate limit ${e.compiled.policy.name}: could not set block`, err);
    }
    return sec;
  }

  private loginKeys(l: LoginEntry, req: PolicyRequest, ip = clientKey(req.clientIp, this.cfg.ipv6Prefix)): { user: string | null; ip: string } {
    const name = req.field?.(l.policy.field)?.trim().toLowerCase();
    return { user: name ? `${name}|${ip}` : null, ip };
  }

  private async loginLocked(l: LoginEntry, req: PolicyRequest, ipKey: string): Promise<LimitDecision | null> {
    const { user, ip } = this.loginKeys(l, req, ipKey);
    const [u, d] = await Promise.all([
      user ? peek(l.perUserIp, user).catch(() => null) : null,
      l.perIpDay ? peek(l.perIpDay, ip).catch(() => null) : null,
    ]);
    const over = (res: { consumedPoints: number; msBeforeNext: number } | null, points: number) => res && res.consumedPoints >= points ? res : null;
    const hit = over(u, l.policy.perUserIp.points) ?? (l.perIpDay ? over(d, l.policy.perIpDay!.points) : null);
    if (!hit) return null;
    const window = hit === u ? l.policy.perUserIp.durationSec : 86400;
    const limit = hit === u ? l.policy.perUserIp.points : l.policy.perIpDay!.points;
    const resetSec = hit.msBeforeNext / 1000;
    this.deps.onDecision?.('rate-limit', l.policy.name);
    return {
      action: 'rate-limit',
      policy: l.policy.name,
      retryAfterSec: Math.max(1, Math.ceil(resetSec)),
      headers: rateLimitHeaders({ limit, remaining: 0, resetSec, windowSec: window }, true),
    };
  }

  /** Feeds the backend's answer to a login attempt: failures count, a success clears the username+IP counter. */
  async loginResult(req: PolicyRequest, status: number): Promise<void> {
    for (const l of this.logins) {
      if (!l.methods.includes(req.method) || !req.path.startsWith(l.policy.pathPrefix)) continue;
      const { user, ip } = this.loginKeys(l, req);
      if (l.policy.failureStatus.includes(status)) {
        const ops: Promise<unknown>[] = [];
        if (user) ops.push(consume(l.perUserIp, user));
        if (l.perIpDay) ops.push(consume(l.perIpDay, ip));
        await Promise.all(ops);
        if (l.policy.perUserIp.blockSec && user) {
          const res = await peek(l.perUserIp, user).catch(() => null);
          if (res && res.consumedPoints >= l.policy.perUserIp.points) await block(l.perUserIp, user, l.policy.perUserIp.blockSec).catch(() => undefined);
        }
      } else if (user) {
        await reset(l.perUserIp, user).catch(() => undefined);
      }
    }
  }

  /** Counts a request blocked as an attack; bans the client at every instance after `threshold` in the window. */
  async recordAttack(ip: string): Promise<Ban | null> {
    if (!this.attackCounter || !this.cfg.attackBan || this.bans.isAllowed(ip)) return null;
    const key = clientKey(ip, this.cfg.ipv6Prefix);
    const r = await consume(this.attackCounter, key);
    if ('error' in r || r.allowed) return null;
    await reset(this.attackCounter, key).catch(() => undefined);
    return this.bans.ban(ip, this.cfg.attackBan.banSec, 'attacks');
  }

  /** Lifts a ban and resets the client's counters. */
  async unban(ip: string): Promise<boolean> {
    const had = await this.bans.unban(ip);
    const key = `ip:${clientKey(ip, this.cfg.ipv6Prefix)}`;
    const ops: Promise<unknown>[] = [];
    const redisKeys: string[] = [];
    for (const e of [...this.requestEntries, ...this.bodyEntries]) {
      ops.push(reset(e.memory, key).catch(() => undefined), reset(e.memoryStrikes, key).catch(() => undefined));
      redisKeys.push(e.mainPrefix + key, e.burstPrefix + key, e.strikesPrefix + key);
      this.blocked.delete(e.mainPrefix + key);
    }
    if (this.redis && redisKeys.length > 0) ops.push(this.redis.del(...redisKeys).catch(() => undefined));
    if (this.attackCounter) ops.push(reset(this.attackCounter, key.slice(3)).catch(() => undefined));
    await Promise.all(ops);
    return had;
  }
}
