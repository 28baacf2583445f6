/** Admin API: DELETE /api/cache?path=/x purges every cached response for that path (all hosts, queries and variants). */
import type { ServicePlugin } from '../services.ts';
import type { Caches } from '../proxy/cache.ts';

export function cacheRoutes(caches: Caches): ServicePlugin {
  return (async (app) => {
    app.delete('/api/cache', async (request, reply) => {
      const path = (request.query as { path?: unknown }).path;
      if (typeof path !== 'string' || !path.startsWith('/') || path.length > 4096) {
        return reply.code(400).send({ error: 'WAF_ERR_BAD_REQUEST', message: 'expected ?path=/some/path' });
      }
      let purged: number;
      try {
        purged = await caches.purge(path);
      } catch (err) {
        request.log.warn({ path, err: (err as Error).message }, 'cache purge failed');
        return reply.code(503).send({ error: 'WAF_ERR_STORE_UNAVAILABLE', message: 'the shared cache (Redis) is unreachable; nothing was purged' });
      }
      request.log.info({ path, purged }, 'cache purged');
      return { path, purged };
    });
  }) as ServicePlugin;
}
