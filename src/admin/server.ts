/** The admin listener (default 127.0.0.1:9090): /healthz, /readyz and the admin plugins — never reachable through the proxy port. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';

export interface AdminState {
  /** False until the proxy listens, and again once shutdown starts. */
  proxyReady: () => boolean;
}

/** Build the admin Fastify instance (not listening yet). */
export async function buildAdmin(services: Services, state: AdminState): Promise<FastifyInstance> {
  const admin = Fastify({ loggerInstance: services.logger.child({ listener: 'admin' }), logController: new LogController({ disableRequestLogging: true }) });

  /** Liveness: the process answers. */
  admin.get('/healthz', async () => ({ status: 'ok' }));

  /** Readiness: the proxy listens and every registered check (rule store, ...) is ok. */
  admin.get('/readyz', async (_request, reply) => {
    const checks: Record<string, { ok: boolean; detail?: unknown }> = { proxy: { ok: state.proxyReady() } };
    for (const c of services.readiness ?? []) {
      try {
        checks[c.name] = await c.check();
      } catch (e) {
        checks[c.name] = { ok: false, detail: (e as Error).message };
      }
    }
    const ok = Object.values(checks).every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
  });

  // Admin API, dashboard, metrics (issues 5, 6, 7): each part adds its plugin to services.adminPlugins.
  for (const plugin of services.adminPlugins ?? []) await admin.register(plugin, { services });

  return admin as unknown as FastifyInstance;
}
