/** Upstream pools: weighted servers, smooth weighted round-robin or least-in-flight, passive ejection with recovery. */
import { z } from 'zod';

/** Config: one server of a pool. */
export const poolServerSchema = z.strictObject({
  url: z.string().url(),
  weight: z.number().int().min(1).max(1000).default(1),
});
export const balanceSchema = z.enum(['round-robin', 'least-in-flight']);
/** Config: active health checks (GET `path`; 2xx/3xx is healthy). */
export const healthSchema = z.strictObject({
  path: z.string().startsWith('/').default('/'),
  intervalMs: z.number().int().min(50).default(5_000),
  timeoutMs: z.number().int().positive().default(2_000),
  healthyThreshold: z.number().int().min(1).default(2),
  unhealthyThreshold: z.number().int().min(1).default(2),
});
/** Config: passive ejection after `failures` consecutive connect failures, for `ejectMs`, then tried again. */
export const passiveSchema = z.strictObject({
  failures: z.number().int().min(1).default(3),
  ejectMs: z.number().int().min(1).default(10_000),
});

export type Balance = z.output<typeof balanceSchema>;
export type HealthSpec = z.output<typeof healthSchema>;

/** A compiled pool, shared (by identity) by every route that uses it. */
export interface PoolSpec {
  servers: Array<{ origin: string; weight: number }>;
  balance: Balance;
  health: HealthSpec | null;
  passive: { failures: number; ejectMs: number };
}

export interface ServerState {
  readonly origin: string;
  readonly weight: number;
  /** Smooth weighted round-robin running weight. */
  current: number;
  inFlight: number;
  /** Active health verdict (true when no checks are configured). */
  healthy: boolean;
  okStreak: number;
  failStreak: number;
  /** Consecutive passive (connect) failures. */
  fails: number;
  ejectedUntil: number;
}

export class Balancer {
  readonly servers: ServerState[];
  constructor(readonly spec: PoolSpec) {
    this.servers = spec.servers.map((s) => ({ origin: s.origin, weight: s.weight, current: 0, inFlight: 0, healthy: true, okStreak: 0, failStreak: 0, fails: 0, ejectedUntil: 0 }));
  }

  available(s: ServerState, now = Date.now()): boolean {
    return s.healthy && s.ejectedUntil <= now;
  }

  /** The next server, skipping `exclude` and unavailable ones; null when none is left (→ 503). */
  pick(exclude?: ReadonlySet<ServerState>, now = Date.now()): ServerState | null {
    let best: ServerState | null = null;
    let total = 0;
    for (const s of this.servers) {
      if ((exclude && exclude.has(s)) || !this.available(s, now)) continue;
      if (this.spec.balance === 'least-in-flight') {
        // Fewest in flight relative to weight; ties broken by the round-robin counter so equal servers alternate.
        if (!best || s.inFlight * best.weight < best.inFlight * s.weight || (s.inFlight * best.weight === best.inFlight * s.weight && s.current > best.current)) best = s;
        s.current += s.weight;
        total += s.weight;
      } else {
        s.current += s.weight;
        total += s.weight;
        if (!best || s.current > best.current) best = s;
      }
    }
    if (best) best.current -= total;
    return best;
  }

  /** A request reached the server: passive failures reset. */
  success(s: ServerState): void {
    s.fails = 0;
  }

  /** A connect failure: after `passive.failures` in a row the server is ejected for `passive.ejectMs`. */
  failure(s: ServerState, now = Date.now()): void {
    s.fails++;
    if (s.fails >= this.spec.passive.failures) s.ejectedUntil = now + this.spec.passive.ejectMs;
  }

  /** Record one active health check result. */
  checked(s: ServerState, ok: boolean): void {
    const h = this.spec.health;
    if (!h) return;
    if (ok) {
      s.failStreak = 0;
      s.okStreak++;
      if (!s.healthy && s.okStreak >= h.healthyThreshold) {
        s.healthy = true;
        s.fails = 0;
        s.ejectedUntil = 0;
      }
    } else {
      s.okStreak = 0;
      s.failStreak++;
      if (s.healthy && s.failStreak >= h.unhealthyThreshold) s.healthy = false;
    }
  }
}
