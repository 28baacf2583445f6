/** Wires rate limits into Services: Redis clients (when configured), the service, the proxy plugin, the admin routes and shutdown. */
import type { Redis } from 'ioredis';
import type { BulwarkConfig } from '../config.ts';
import { bansRoutes } from '../admin/bans-routes.ts';
import type { ServicePlugin, Services } from '../services.ts';
import { createRedisClient } from '../store/redis-client.ts';
import { redisTarget, type RedisSection } from '../store/setup.ts';
import { toServiceConfig } from './config-schema.ts';
import { rateLimitPlugin } from './plugin.ts';
import { RateLimitService } from './service.ts';

export async function setupRateLimits(config: BulwarkConfig, services: Services): Promise<RateLimitService | null> {
  const section = config.rateLimit;
  if (!section.enabled) return null;
  const logger = services.logger;
  const target = redisTarget(config.redis as RedisSection);
  let redis: Redis | null = null;
  let subscriber: Redis | null = null;
  if (target) {
    redis = createRedisClient(target, { name: 'bulwark-ratelimit' }) as Redis;
    subscriber = createRedisClient(target, { name: 'bulwark-bans-sub' }) as Redis;
    redis.options.enableAutoPipelining = true;
    for (const c of [redis, subscriber]) {
      c.on('error', () => undefined); // reconnects with backoff; the service warns while degraded
      c.connect().catch((err: Error) => logger.warn({ err: err.message }, 'rate limiting: Redis unreachable at start, using in-memory counters'));
    }
  }
  const cfg = toServiceConfig(section);
  const service = new RateLimitService(cfg, {
    redis,
    subscriber,
    warn: (msg, err) => logger.warn({ err: err instanceof Error ? err.message : err }, msg),
  });
  await service.start();
  services.rateLimiter = rateLimitPlugin({
    service,
    maxInFlightPerIp: section.maxInFlightPerIp,
    maxConnectionsPerIp: section.maxConnectionsPerIp,
    ipv6Prefix: section.ipv6Prefix,
    needsBody: cfg.login.length > 0 || cfg.policies.some((p) => typeof p.key === 'object' && 'field' in p.key),
    hasLogin: cfg.login.length > 0,
    base: cfg,
  });
  const routes = (async (app) => app.register(bansRoutes, { prefix: '/api', service })) as ServicePlugin;
  (services.adminPlugins ??= []).push(routes);
  (services.readiness ??= []).push({ name: 'rateLimit', check: () => ({ ok: true, detail: { shared: redis !== null && !service.degraded(), bans: service.bans.list().length } }) });
  (services.onClose ??= []).push(() => {
    redis?.disconnect();
    subscriber?.disconnect();
  });
  return service;
}
