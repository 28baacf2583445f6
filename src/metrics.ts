/** Prometheus metrics (prom-client, own registry): requests by site/verdict, blocks by family/signature, rate-limit decisions, latencies, store state. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from './series-metrics.ts';
import type { ServicePlugin, Services } from './services.ts';
import type { WafEvent } from './types.ts';

export interface Metrics {
  registry: Registry;
  /** Proxy-side hooks (services.metrics). */
  plugin: ServicePlugin;
  /** GET /metrics on the admin listener. */
  adminPlugin: (app: FastifyInstance) => Promise<void>;
  /** Feed every recorded event (blocks by family/signature, rate-limit decisions). */
  onEvent(e: WafEvent): void;
}

/** Build the metrics for one process. `status` getters are read at scrape time. */
export function createMetrics(opts: { defaults?: boolean; services?: () => Services | undefined; streamUp?: () => boolean | null } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'bulwark_process_' });

  // Counted or observed on every request: series made once, no label hashing per request (see series-metrics.ts).
  const requests = new SeriesCounter('bulwark_requests_total', 'Requests by site and verdict', ['site', 'verdict'], [registry]);
  const blocks = new Counter({ name: 'bulwark_blocks_total', help: 'Signature matches in blocked requests, by family and signature id', labelNames: ['family', 'signature'] as const, registers: [registry] });
  const detections = new Counter({ name: 'bulwark_detections_total', help: 'Signature matches in detect-only requests, by family and signature id', labelNames: ['family', 'signature'] as const, registers: [registry] });
  const rateLimit = new Counter({ name: 'bulwark_ratelimit_decisions_total', help: 'Rate-limit and ban decisions by policy', labelNames: ['policy', 'decision'] as const, registers: [registry] });
  const inspection = new SeriesHistogram('bulwark_inspection_duration_seconds', 'Time the inspection engine took per inspected request', [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], [], [registry]).series();
  const upstream = new SeriesHistogram('bulwark_upstream_duration_seconds', 'Time from forwarding to the end of the response, by site', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ['site'], [registry]);
  new Gauge({
    name: 'bulwark_store_reachable', help: 'Rule store (Redis) reachable: 1 yes, 0 no (memory store: 1)', registers: [registry],
    collect() {
      const st = opts.services?.()?.rules?.status() as { storeReachable?: boolean } | undefined;
      this.set(st ? (st.storeReachable === false ? 0 : 1) : 1);
    },
  });
  new Gauge({
    name: 'bulwark_ruleset_version', help: 'Live ruleset version', registers: [registry],
    collect() {
      const st = opts.services?.()?.rules?.status() as { version?: number } | undefined;
      this.set(typeof st?.version === 'number' ? st.version : 0);
    },
  });
  new Gauge({
    name: 'bulwark_inspection_waiting', help: 'Requests waiting for an inspection thread (queued or being inspected, all threads); -1 without a thread', registers: [registry],
    collect() {
      const th = opts.services?.()?.inspectionThreads;
      this.set(th ? th.pending : -1);
    },
  });
  new Gauge({
    name: 'bulwark_request_body_bytes_held', help: 'Bytes of request bodies held in memory now (bound: limits.maxBufferedBodyBytes)', registers: [registry],
    collect() {
      this.set(opts.services?.()?.bodyBudget?.held ?? 0);
    },
  });
  new Gauge({
    name: 'bulwark_inspection_thread_restarts', help: 'Inspection threads replaced after exiting, throwing or stalling, since start', registers: [registry],
    collect() {
      this.set(opts.services?.()?.inspectionThreads?.restarts ?? 0);
    },
  });
  new Gauge({
    name: 'bulwark_events_stream_reachable', help: 'Event stream (Redis) reachable: 1 yes, 0 no, -1 no stream configured', registers: [registry],
    collect() {
      const up = opts.streamUp?.();
      this.set(up === null || up === undefined ? -1 : up ? 1 : 0);
    },
  });

  // A site's series, found by its name (a string from the config, its hash kept) and the verdict (a literal).
  const sites = new Map<string, { upstream: HistogramSeries; verdicts: Map<string, CounterSeries> }>();
  const siteSeries = (site: string) => {
    let s = sites.get(site);
    if (s === undefined) {
      if (sites.size >= 10000) sites.clear(); // site names come from the config; bounded all the same
      sites.set(site, (s = { upstream: upstream.series(site), verdicts: new Map() }));
    }
    return s;
  };
  const requestCounter = (site: string, verdict: string) => {
    const verdicts = siteSeries(site).verdicts;
    let c = verdicts.get(verdict);
    if (c === undefined) verdicts.set(verdict, (c = requests.series(site, verdict)));
    return c;
  };

  // One callback-style onResponse hook (no promise per request); the times come from request.waf, stamped by the
  // inspection plugin (inspectionMs) and the forwarding handler (forwardedAt).
  const plugin: ServicePlugin = async (app) => {
    app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const waf = req.waf;
      const site = waf?.site ?? 'unknown';
      let verdict: string = waf?.verdict?.action ?? 'allow';
      if (reply.statusCode === 429) verdict = 'rate-limit';
      // A 403 with an event but no inspection verdict is the rate limiter's ban.
      else if (reply.statusCode === 403 && !waf?.verdict && waf?.eventId) verdict = 'ban';
      else if (reply.statusCode === 403 && verdict === 'allow') verdict = 'block';
      else if (reply.statusCode >= 400 && !waf?.verdict && !waf?.forwardedAt) verdict = 'refused';
      requestCounter(site, verdict).inc();
      if (waf && waf.inspectionMs >= 0) inspection.observe(waf.inspectionMs / 1000);
      if (waf?.forwardedAt) siteSeries(site).upstream.observe((performance.now() - waf.forwardedAt) / 1000);
      done();
    });
  };

  const adminPlugin = async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['metrics'] } }, async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  };

  return {
    registry,
    plugin,
    adminPlugin,
    onEvent(e) {
      const c = e.action === 'block' ? blocks : e.action === 'detect' ? detections : null;
      if (c) for (const m of e.matches) c.inc({ family: m.family, signature: String(m.id) });
      if (e.action === 'rate-limit' || e.action === 'ban') rateLimit.inc({ policy: e.policy ?? 'unknown', decision: e.action });
    },
  };
}
