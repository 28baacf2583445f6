/** The admin plugin: auth on the whole admin listener, OpenAPI, events API, explain, /metrics and the dashboard; plus setupEvents() for index.ts. */
import type { FastifyInstance } from 'fastify';
import type { BulwarkConfig } from '../config.ts';
import { createEventLog } from '../log/index.ts';
import type { EventLog } from '../log/event-log.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { parseHostPort } from '../config.ts';
import type { ServicePlugin, Services } from '../services.ts';
import { installAuth, tokensFrom, type TokenEntry } from './auth.ts';
import { eventsRoutes } from './events-routes.ts';
import { explainRoute, type Explainer } from './explain-route.ts';
import { registerOpenApi } from './openapi.ts';
import { uiRoutes } from './ui-routes.ts';

export interface AdminPluginDeps {
  events: EventLog;
  metrics?: Metrics;
  tokens: TokenEntry[];
  listen: string;
  /** Dry-run engine for POST /api/explain (issue 3); the route answers 503 until one is available. */
  explain?: () => Explainer | undefined;
}

/** Not encapsulated (skip-override): the auth hook and swagger's route collection cover every admin plugin registered after it. */
export function adminPlugin(deps: AdminPluginDeps): ServicePlugin {
  const plugin = (async (app: FastifyInstance) => {
    installAuth(app, { tokens: deps.tokens, listenHost: parseHostPort(deps.listen)?.host ?? deps.listen });
    await registerOpenApi(app);
    await app.register(eventsRoutes, { prefix: '/api', events: deps.events });
    await app.register(explainRoute, { prefix: '/api', explainer: deps.explain ?? (() => undefined) });
    if (deps.metrics) await app.register(deps.metrics.adminPlugin);
    await app.register(uiRoutes);
  }) as unknown as ServicePlugin;
  (plugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
  (plugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'bulwark-admin';
  return plugin;
}

/**
 * Wire issue 7 into Services: the event sink (services.events), proxy metrics hooks (services.metrics), the admin plugin
 * (first in services.adminPlugins so its auth covers the others), and closing the sink on shutdown.
 */
export async function setupEvents(config: BulwarkConfig, services: Services, opts: { explain?: () => Explainer | undefined } = {}): Promise<{ events: EventLog; metrics: Metrics }> {
  let log: EventLog | undefined;
  const metrics = createMetrics({ services: () => services, streamUp: () => (log && log.stats().stream !== 'none' ? log.streamReachable() : null) });
  const created = await createEventLog(config, services.logger, { onRecord: (e) => metrics.onEvent(e) });
  log = created.log;
  services.events = log;
  services.metrics = metrics.plugin;
  (services.adminPlugins ??= []).unshift(adminPlugin({ events: log, metrics, tokens: tokensFrom(config), listen: config.admin.listen, explain: opts.explain }));
  (services.onClose ??= []).push(() => created.log.close());
  return { events: log, metrics };
}
