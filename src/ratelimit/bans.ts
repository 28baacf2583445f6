/**
 * Bans and the allow-list, shared by every instance. Lookups are local (a mirror kept in memory) so a ban check
 * costs no round trip; changes go to Redis (a hash + a pub/sub message) when it is there, and every instance
 * updates its mirror from the message. Without Redis the mirror is the store.
 */
import type { Redis } from 'ioredis';
import { CidrSet } from './allow-list.ts';
import { unmapIp } from './ip-key.ts';

export interface Ban {
  ip: string;
  until: number; // epoch ms
  reason: string;
  by?: string;
}

const BANS_KEY = '{bulwark}:bans';
const ALLOW_KEY = '{bulwark}:allow';
const CHANNEL = '{bulwark}:bans:changed';

export interface BanListOptions {
  redis?: Redis | null;
  /** A second connection for SUBSCRIBE (a subscribed ioredis connection cannot send commands). */
  subscriber?: Redis | null;
  allow?: string[];
  onChange?: () => void;
}

export class BanList {
  private bans = new Map<string, Ban>();
  private allow: CidrSet;
  private staticAllow: string[];
  private dynamicAllow: string[] = [];
  private readonly redis: Redis | null;
  private readonly sub: Redis | null;

  constructor(private readonly opts: BanListOptions = {}) {
    this.redis = opts.redis ?? null;
    this.sub = opts.subscriber ?? null;
    this.staticAllow = opts.allow ?? [];
    this.allow = new CidrSet(this.staticAllow);
  }

  /** Subscribes to changes and loads the current state; safe to call again after a reconnect. */
  async start(): Promise<void> {
    if (this.sub) {
      this.sub.on('message', (channel: string) => {
        if (channel === CHANNEL) this.refresh().catch(() => undefined);
      });
      this.sub.on('ready', () => {
        this.sub!.subscribe(CHANNEL).catch(() => undefined);
        this.refresh().catch(() => undefined);
      });
      if (this.sub.status === 'ready') await this.sub.subscribe(CHANNEL);
    }
    if (this.redis) this.redis.on('ready', () => this.refresh().catch(() => undefined));
    await this.refresh().catch(() => undefined);
  }

  /** Reloads bans and allow-list from Redis into the local mirror. */
  async refresh(): Promise<void> {
    if (!this.redis) return;
    const [bans, allow] = await Promise.all([this.redis.hgetall(BANS_KEY), this.redis.smembers(ALLOW_KEY)]);
    const next = new Map<string, Ban>();
    const now = Date.now();
    for (const [ip, raw] of Object.entries(bans)) {
      try {
        const b = JSON.parse(raw) as Ban;
        if (b.until > now) next.set(ip, b);
      } catch {
        /* a malformed entry is ignored */
      }
    }
    this.bans = next;
    this.dynamicAllow = allow;
    this.rebuildAllow();
    this.opts.onChange?.();
  }

  private rebuildAllow(): void {
    const set = new CidrSet(this.staticAllow);
    for (const c of this.dynamicAllow) {
      try {
        set.add(c);
      } catch {
        /* skip */
      }
    }
    this.allow = set;
  }

  isAllowed(ip: string): boolean {
    return this.allow.has(ip);
  }

  /** The active ban for this address, if any (allow-list beats ban). */
  bannedUntil(ip: string): Ban | null {
    if (this.bans.size === 0) return null;
    const a = unmapIp(ip);
    const b = this.bans.get(a);
    if (!b) return null;
    if (b.until <= Date.now()) {
      this.bans.delete(a);
      return null;
    }
    if (this.allow.has(a)) return null;
    return b;
  }

  list(): Ban[] {
    const now = Date.now();
    return [...this.bans.values()].filter((b) => b.until > now);
  }

  allowList(): string[] {
    return [...this.staticAllow, ...this.dynamicAllow];
  }

  async ban(ip: string, seconds: number, reason: string, by?: string): Promise<Ban> {
    const a = unmapIp(ip);
    const b: Ban = { ip: a, until: Date.now() + seconds * 1000, reason, by };
    this.bans.set(a, b);
    if (this.redis) {
      await this.redis.multi().hset(BANS_KEY, a, JSON.stringify(b)).publish(CHANNEL, a).exec();
    }
    return b;
  }

  async unban(ip: string): Promise<boolean> {
    const a = unmapIp(ip);
    const had = this.bans.delete(a);
    if (this.redis) {
      const res = await this.redis.multi().hdel(BANS_KEY, a).publish(CHANNEL, a).exec();
      return had || Number(res?.[0]?.[1] ?? 0) > 0;
    }
    return had;
  }

  async addAllow(cidr: string): Promise<void> {
    new CidrSet([cidr]); // validates
    if (!this.dynamicAllow.includes(cidr)) this.dynamicAllow.push(cidr);
    this.rebuildAllow();
    if (this.redis) await this.redis.multi().sadd(ALLOW_KEY, cidr).publish(CHANNEL, cidr).exec();
  }

  async removeAllow(cidr: string): Promise<boolean> {
    const had = this.dynamicAllow.includes(cidr);
    this.dynamicAllow = this.dynamicAllow.filter((c) => c !== cidr);
    this.rebuildAllow();
    if (this.redis) await this.redis.multi().srem(ALLOW_KEY, cidr).publish(CHANNEL, cidr).exec();
    return had;
  }
}
