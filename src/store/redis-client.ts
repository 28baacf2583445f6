/** Builds ioredis clients for a single Redis, Sentinel or Cluster from the `redis` config section. */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';

export type RedisTarget =
  | { url: string }
  | { sentinels: Array<{ host: string; port: number }>; name: string; password?: string }
  | { cluster: Array<string | { host: string; port: number }>; password?: string };

export type RedisLike = Redis | Cluster;

export interface ClientOptions {
  /** Largest reconnect delay in ms (backoff doubles from 50 ms up to this). */
  maxBackoffMs?: number;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
}

/** Reconnect delays: 50, 100, 200 ... capped; never gives up. */
export function backoff(maxMs: number): (times: number) => number {
  return (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 16), maxMs);
}

/**
 * A client that fails fast while disconnected (no offline queue, one retry per request) so a lost Redis
 * never stalls request handling, and reconnects forever with capped backoff.
 */
export function createRedisClient(target: RedisTarget, opts: ClientOptions = {}): RedisLike {
  const retryStrategy = backoff(opts.maxBackoffMs ?? 2000);
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy,
    connectionName: opts.name,
  };
  if ('cluster' in target) {
    const nodes: ClusterNode[] = target.cluster.map((n) => (typeof n === 'string' ? n : { host: n.host, port: n.port }));
    return new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...base, password: target.password },
    });
  }
  if ('sentinels' in target) {
    return new Redis({ ...base, sentinels: target.sentinels, name: target.name, password: target.password, sentinelRetryStrategy: retryStrategy });
  }
  return new Redis(target.url, base);
}
