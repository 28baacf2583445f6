/**
 * Wires the rule store for a running Bulwark: memory or Redis (single, Sentinel, Cluster) from the `redis` config
 * section, the live holder started from signatures/ + config, the change service, a /readyz check and the admin routes.
 */
import type { FastifyInstance } from 'fastify';
import type { Exclusion, RatePolicy, SignatureSpec } from '../types.ts';
import { rulesRoutes } from '../admin/rules-routes.ts';
import { ratelimitRoutes } from '../admin/ratelimit-routes.ts';
import { LiveRuleset, type Compiler, type Logger } from './live-ruleset.ts';
import { MemoryRuleStore } from './memory-store.ts';
import { RedisRuleStore } from './redis-store.ts';
import type { RedisTarget } from './redis-client.ts';
import { RuleService } from './rule-service.ts';
import { emptyContent, type SnapshotContent } from './snapshot.ts';
import type { RuleStore } from './store.ts';

/** The `redis` config section as this part reads it (the config schema keeps unknown keys). */
export interface RedisSection {
  url?: string;
  sentinels?: Array<{ host: string; port: number }>;
  name?: string;
  cluster?: Array<string | { host: string; port: number }>;
  password?: string;
  /** Key namespace inside the `{...}` hash tag (default bulwark). */
  namespace?: string;
  keepVersions?: number;
  /** Safety net for a lost pub/sub message (default 5000 ms). */
  pollMs?: number;
  maxBackoffMs?: number;
}

/** Which Redis deployment the section names, or null for memory only. */
export function redisTarget(r: RedisSection | undefined): RedisTarget | null {
  if (!r) return null;
  if (r.cluster?.length) return { cluster: r.cluster, password: r.password };
  if (r.sentinels?.length) {
    if (!r.name) throw new Error('redis.sentinels needs redis.name (the master group name)');
    return { sentinels: r.sentinels, name: r.name, password: r.password };
  }
  return r.url ? { url: r.url } : null;
}

export function createStore(r: RedisSection | undefined, log?: Logger): RuleStore {
  const target = redisTarget(r);
  if (!target) return new MemoryRuleStore({ keepVersions: r?.keepVersions });
  return new RedisRuleStore({ target, namespace: r?.namespace, keepVersions: r?.keepVersions, maxBackoffMs: r?.maxBackoffMs, log });
}

/** Base content: the library from signatures/ and what the config file says (exclusions, rate policies). */
export function baseContent(signatures: SignatureSpec[], config: { inspection?: { exclusions?: unknown }; rateLimit?: { policies?: unknown } }): SnapshotContent {
  return {
    ...emptyContent(),
    signatures,
    exclusions: Array.isArray(config.inspection?.exclusions) ? (config.inspection.exclusions as Exclusion[]) : [],
    ratePolicies: Array.isArray(config.rateLimit?.policies) ? (config.rateLimit.policies as RatePolicy[]) : [],
  };
}

export interface RulesSetup<T> {
  store: RuleStore;
  live: LiveRuleset<T>;
  service: RuleService<T>;
  /** For services.readiness: ok while a ruleset is live; detail says which version and whether the store is reachable. */
  readiness: { name: string; check(): { ok: boolean; detail: unknown } };
  /** For services.adminPlugins: the rules and rate-limit policy APIs under /api. */
  adminPlugin: (app: FastifyInstance) => Promise<void>;
  close(): Promise<void>;
}

export interface SetupOptions<T> {
  redis?: RedisSection;
  base: SnapshotContent;
  compile: Compiler<T>;
  log: Logger;
}

/** Build and start the store + live ruleset. Never fails for an unreachable Redis (serves `base`, keeps retrying). */
export async function setupRules<T>(opts: SetupOptions<T>): Promise<RulesSetup<T>> {
  const store = createStore(opts.redis, opts.log);
  const live = new LiveRuleset<T>({ store, compile: opts.compile, base: opts.base, log: opts.log, pollMs: opts.redis?.pollMs ?? (store.kind === 'redis' ? 5000 : 0) });
  await live.start();
  const service = new RuleService<T>(store, live, opts.compile);
  return {
    store, live, service,
    readiness: {
      name: 'rules',
      // Serving the last good snapshot with Redis down is degraded, not unready: inspection still runs. The detail says so.
      check: () => ({ ok: true, detail: live.status() }),
    },
    adminPlugin: async (app) => {
      await app.register(rulesRoutes, { prefix: '/api', rules: service as RuleService<unknown> });
      await app.register(ratelimitRoutes, { prefix: '/api', rules: service as RuleService<unknown> });
    },
    close: async () => { await live.close(); await store.close(); },
  };
}

/** Where the local library lives: `inspection.signatures` in the config, else ./signatures. */
export function signaturesDir(config: { inspection?: Record<string, unknown> }): string {
  const dir = config.inspection?.signatures;
  return typeof dir === 'string' && dir ? dir : 'signatures';
}

/** A pino-like logger as the store's Logger. */
export function storeLogger(logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void }): Logger {
  return { info: (m) => logger.info({ part: 'rules' }, m), warn: (m) => logger.warn({ part: 'rules' }, m), error: (m) => logger.error({ part: 'rules' }, m) };
}
