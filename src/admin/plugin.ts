/** The admin plugin: auth on the whole admin listener, OpenAPI, events API, explain, /metrics and the dashboard; plus setupEvents() for index.ts. */
import type { FastifyInstance } from 'fastify';
import type { BulwarkConfig } from '../config.ts';
import { createEventLog } from '../log/index.ts';
import type { EventLog } from '../log/event-log.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { parseHostPort } from '../config.ts';
import type { ServicePlugin, Services } from '../services.ts';
import type { RequestInput, Verdict } from '../types.ts';
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
  /** Configured sites and their config-file mode (the dashboard's mode switch lists them). */
  sites?: Array<{ name: string; mode: string }>;
}

/** Not encapsulated (skip-override): the auth hook and swagger's route collection cover every admin plugin registered after it. */
export function adminPlugin(deps: AdminPluginDeps): ServicePlugin {
  const plugin = (async (app: FastifyInstance) => {
    installAuth(app, { tokens: deps.tokens, listenHost: parseHostPort(deps.listen)?.host ?? deps.listen });
    await registerOpenApi(app);
    await app.register(eventsRoutes, { prefix: '/api', events: deps.events });
    await app.register(explainRoute, { prefix: '/api', explainer: deps.explain ?? (() => undefined) });
    app.get('/api/whoami', { schema: { summary: 'The caller: token name and role', tags: ['admin'] } }, async (req) => ({ name: req.admin?.name, role: req.admin?.role }));
    app.get('/api/sites', { schema: { summary: 'Configured sites and their configured mode', tags: ['admin'] } }, async () => ({ sites: deps.sites ?? [] }));
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
  const sink = log;
  // Proxy-side onResponse hooks: metrics, and the backend status for detect-mode events (recorded once the response is done).
  const proxyHooks: ServicePlugin = async (app, o) => {
    await metrics.plugin(app, o);
    app.addHook('onResponse', (request, reply, done) => {
      const id = request.waf?.eventId;
      if (id && request.waf.verdict?.action === 'detect') sink.complete(id, reply.statusCode);
      done();
    });
  };
  services.metrics = proxyHooks;
  (services.adminPlugins ??= []).unshift(adminPlugin({ events: log, metrics, tokens: tokensFrom(config), listen: config.admin.listen, explain: opts.explain ?? (() => engineExplainer(config, services)), sites: sitesOf(config) }));
  (services.onClose ??= []).push(() => created.log.close());
  return { events: log, metrics };
}

/** The implicit default site (when no sites are configured or it serves unknown hosts) plus every configured site. */
export function sitesOf(config: BulwarkConfig): Array<{ name: string; mode: string }> {
  const out = config.sites.map((s) => ({ name: s.name, mode: s.mode ?? config.mode }));
  if (!config.sites.length || config.defaultSite === 'default') out.unshift({ name: 'default', mode: config.mode });
  return out;
}

/** The live engine as a dry-run function: the site's paranoia, threshold and mode (store override first), or undefined before rules load. */
export function engineExplainer(config: BulwarkConfig, services: Services): Explainer | undefined {
  const rules = services.rules as { current(): unknown; modeFor?(site: string): string | undefined } | undefined;
  const ruleset = rules?.current() as { inspect?: (input: RequestInput, ctx: Record<string, unknown>) => Verdict } | undefined;
  if (!ruleset?.inspect) return undefined;
  return (input) => {
    const siteName = input.site ?? 'default';
    const site = config.sites.find((s) => s.name === siteName);
    const mode = rules?.modeFor?.(siteName) ?? site?.mode ?? config.mode;
    return ruleset.inspect!(input, { paranoia: site?.paranoia ?? config.paranoia, threshold: site?.threshold ?? config.threshold, mode, site: siteName, clientIp: input.clientIp });
  };
}
