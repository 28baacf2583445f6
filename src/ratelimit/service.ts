/**
 * The rate-limit service: per-request policy checks with escalating blocks, attack-driven bans, login brute-force
 * counting from the backend's answers, all shared through Redis when it is there (memory insurance when it is not).
 */
import type { Redis } from 'ioredis';
import type { RatePolicy } from '../types.ts';
import { BanList, type Ban } from './bans.ts';
import { clientKey } from './ip-key.ts';
import { block, consume, makeLimiter, peek, reset, type Limiter } from './limiters.ts';
import { compilePolicies, type CompiledPolicy, type PolicyRequest } from './policy-match.ts';
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

interface Entry {
  compiled: CompiledPolicy;
  limiter: Limiter;
  strikes: Limiter;
}

interface LoginEntry {
  policy: LoginPolicy;
  methods: string[];
  perUserIp: Limiter;
  perIpDay: Limiter | null;
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
  private entries: Entry[] = [];
  private logins: LoginEntry[] = [];
  private attackCounter: Limiter | null = null;
  private readonly redis: Redis | null;
  private warnedAt = 0;

  constructor(private cfg: RateLimitConfig, private readonly deps: RateLimitDeps = {}) {
    this.redis = deps.redis ?? null;
    this.bans = new BanList({ redis: this.redis, subscriber: deps.subscriber ?? null, allow: cfg.allow });
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
    this.entries = compilePolicies(all).map((compiled) => ({
      compiled,
      limiter: makeLimiter(
        { prefix: `p:${compiled.policy.name}`, points: compiled.policy.points, durationSec: compiled.policy.durationSec, burst: compiled.policy.burst },
        this.redis,
      ),
      strikes: makeLimiter({ prefix: `s:${compiled.policy.name}`, points: 1_000_000, durationSec: cfg.escalation.windowSec }, this.redis),
    }));
    this.logins = cfg.login.map((policy) => ({
      policy,
      methods: (policy.methods ?? ['POST']).map((m) => m.toUpperCase()),
      perUserIp: makeLimiter({ prefix: `l:${policy.name}:u`, points: policy.perUserIp.points, durationSec: policy.perUserIp.durationSec }, this.redis),
      perIpDay: policy.perIpDay ? makeLimiter({ prefix: `l:${policy.name}:d`, points: policy.perIpDay.points, durationSec: 86400 }, this.redis) : null,
    }));
    this.attackCounter = cfg.attackBan
      ? makeLimiter({ prefix: 'attacks', points: cfg.attackBan.threshold, durationSec: cfg.attackBan.windowSec }, this.redis)
      : null;
    this.cfg = cfg;
  }

  /** True while Redis is configured but not usable: counters are per instance until it returns. */
  degraded(): boolean {
    return this.redis !== null && this.redis.status !== 'ready';
  }

  private noteDegraded(): void {
    if (!this.degraded()) return;
    this.deps.onDecision?.('degraded');
    const now = Date.now();
    if (now - this.warnedAt > 10_000) {
      this.warnedAt = now;
      this.deps.warn?.('rate limiting: Redis unreachable, using per-instance in-memory counters');
    }
  }

  /** Ban check (no I/O): allow-list beats ban. */
  checkBan(ip: string): LimitDecision {
    if (this.bans.isAllowed(ip)) return { action: 'allow' };
    const ban = this.bans.bannedUntil(ip);
    if (ban) {
      this.deps.onDecision?.('ban', `ban:${ban.reason}`);
      return { action: 'ban', policy: `ban:${ban.reason}`, ban };
    }
    return { action: 'allow' };
  }

  /** Runs every matching policy of a phase concurrently (one pipelined round trip) and returns the strictest answer. */
  async check(req: PolicyRequest, phase: 'request' | 'body'): Promise<LimitDecision> {
    if (this.bans.isAllowed(req.clientIp)) return { action: 'allow' };
    const todo: Array<{ e: Entry; key: string }> = [];
    for (const e of this.entries) {
      if (e.compiled.phase !== phase || !e.compiled.matches(req)) continue;
      const key = e.compiled.keyFor(req, this.cfg.ipv6Prefix);
      if (key !== null) todo.push({ e, key });
    }
    if (phase === 'body') {
      for (const l of this.logins) {
        if (!l.methods.includes(req.method) || !req.path.startsWith(l.policy.pathPrefix)) continue;
        const locked = await this.loginLocked(l, req);
        if (locked) return locked;
      }
    }
    if (todo.length === 0) return { action: 'allow' };
    this.noteDegraded();
    const results = await Promise.all(todo.map(({ e, key }) => consume(e.limiter, key)));
    let tightest: { state: LimitState; headers?: Record<string, string> } | null = null;
    let limited: { e: Entry; key: string; state: LimitState; first: boolean } | null = null;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const { e, key } = todo[i];
      if ('error' in r) {
        this.deps.warn?.(`rate limit ${e.compiled.policy.name}: store error, request allowed`, r.error);
        continue;
      }
      const p = e.compiled.policy;
      const state: LimitState = {
        limit: p.points,
        remaining: r.res.remainingPoints,
        resetSec: r.res.msBeforeNext / 1000,
        windowSec: p.durationSec,
      };
      if (!r.allowed) {
        const first = r.res.consumedPoints === p.points + 1 + (p.burst ?? 0) || r.res.consumedPoints === p.points + 1;
        if (!limited || state.resetSec > limited.state.resetSec) limited = { e, key, state, first };
      } else if (!tightest || state.remaining < tightest.state.remaining) {
        tightest = { state };
      }
    }
    if (limited) {
      const p = limited.e.compiled.policy;
      let retry = limited.state.resetSec;
      if (limited.first && p.blockSec) retry = await this.escalate(limited.e, limited.key, p.blockSec);
      const state = { ...limited.state, remaining: 0, resetSec: retry };
      this.deps.onDecision?.('rate-limit', p.name);
      return { action: 'rate-limit', policy: p.name, retryAfterSec: Math.max(1, Math.ceil(retry)), headers: rateLimitHeaders(state, true) };
    }
    this.deps.onDecision?.('allow');
    return { action: 'allow', headers: tightest ? rateLimitHeaders(tightest.state, false) : undefined };
  }

  /** Blocks a key for blockSec × factor^(strikes-1), capped; returns the block length in seconds. */
  private async escalate(e: Entry, key: string, blockSec: number): Promise<number> {
    const s = await consume(e.strikes, key);
    const strikes = 'error' in s ? 1 : s.res.consumedPoints;
    const { factor, maxBlockSec } = this.cfg.escalation;
    const sec = Math.min(maxBlockSec, blockSec * Math.pow(factor, Math.max(0, strikes - 1)));
    try {
      await block(e.limiter, key, sec);
    } catch (err) {
      this.deps.warn?.(`rate limit ${e.compiled.policy.name}: could not set block`, err);
    }
    return sec;
  }

  private loginKeys(l: LoginEntry, req: PolicyRequest): { user: string | null; ip: string } {
    const ip = clientKey(req.clientIp, this.cfg.ipv6Prefix);
    const name = req.field?.(l.policy.field)?.trim().toLowerCase();
    return { user: name ? `${name}|${ip}` : null, ip };
  }

  private async loginLocked(l: LoginEntry, req: PolicyRequest): Promise<LimitDecision | null> {
    const { user, ip } = this.loginKeys(l, req);
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
    const key = clientKey(ip, this.cfg.ipv6Prefix);
    const ops: Promise<unknown>[] = [];
    for (const e of this.entries) {
      ops.push(reset(e.limiter, `ip:${key}`).catch(() => undefined), reset(e.strikes, `ip:${key}`).catch(() => undefined));
    }
    if (this.attackCounter) ops.push(reset(this.attackCounter, key).catch(() => undefined));
    await Promise.all(ops);
    return had;
  }
}
