/** The shared services handed to every plugin, and the per-request context (`request.waf`) other plugins read. */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { BulwarkConfig } from './config.ts';
import type { InspectionLanes } from './inspect/inspection-lanes.ts';
import type { ResolvedRoute } from './proxy/routing.ts';
import type { Mode, Verdict, WafEvent } from './types.ts';

/** A plugin other parts provide; app.ts registers it with `{ services }` as options. */
export type ServicePlugin = FastifyPluginAsync<{ services: Services }>;

/** A readiness probe shown on /readyz (e.g. the rule store's status). */
export interface ReadinessCheck {
  name: string;
  /** ok=false makes /readyz answer 503. */
  check(): { ok: boolean; detail?: unknown } | Promise<{ ok: boolean; detail?: unknown }>;
}

export interface Services {
  config: BulwarkConfig;
  logger: Logger;
  /** [issue 3] inspection engine plugin: registered after the body is read (preHandler hooks). */
  inspector?: ServicePlugin;
  /** [issue 3] the inspection threads (config `inspection.thread`); absent: the engine runs in the event loop. */
  inspectionThreads?: InspectionLanes;
  /** [issue 6] rate-limit plugin: registered right after the request context is set (onRequest hooks). */
  rateLimiter?: ServicePlugin;
  /** [issue 7] event sink: never throws, never blocks. */
  events?: { record(e: WafEvent): void };
  /** [issue 7] metrics plugin (onResponse hooks). */
  metrics?: ServicePlugin;
  /** [issue 5] rule store and live ruleset holder. */
  store?: unknown;
  /**
   * [issue 5] Live ruleset: `current()` is the CompiledRuleset to inspect with (read it once per request);
   * `modeFor(site)` is a mode set through the store (`bulwark mode set`), overriding the config's mode when defined.
   */
  rules?: { current(): unknown; status(): unknown; modeFor?(site: string): Mode | undefined };
  /** Extra checks for /readyz. */
  readiness?: ReadinessCheck[];
  /** Admin-listener plugins (admin API, dashboard, metrics endpoint) registered by src/admin/server.ts. */
  adminPlugins?: ServicePlugin[];
  /** Request body bytes held in memory now, and the bound (`limits.maxBufferedBodyBytes`; set by the app). */
  bodyBudget?: { readonly held: number; readonly max: number };
  /** Called on shutdown after the listeners closed (flush events, quit Redis). */
  onClose?: Array<() => Promise<void> | void>;
}

/** What the proxy knows about a request; set in onRequest before any other plugin's hook runs. */
export interface WafContext {
  /** Request id (X-Request-Id round trip). */
  id: string;
  /** Real client IP: the peer, or the rightmost untrusted X-Forwarded-For hop when the peer is a trusted proxy. */
  clientIp: string;
  /** TCP peer address. */
  peer: string;
  /** Site name ('default' for the implicit site). */
  site: string;
  /** Route prefix that matched ('' for the site itself). */
  route: string;
  mode: Mode;
  paranoia: 1 | 2 | 3 | 4;
  threshold: number;
  /** Upstream origin chosen for this request. */
  upstream: string;
  /** The resolved route: limits, methods, body policy, upstream timeout. */
  resolved: ResolvedRoute;
  /** performance.now() when the request was handed to the upstream (0: not forwarded). */
  forwardedAt: number;
  /** How long inspection took, ms (-1: not inspected). */
  inspectionMs: number;
  /** The response (the body's bytes held in memory are counted until it closes). */
  res: ServerResponse;
  /** Whole body as read and as it will be forwarded (null: no body). */
  body: Buffer | null;
  /** The part of the body to inspect (== body unless bodyTruncated). */
  inspectBody: Buffer | null;
  /** True when the body is longer than inspection.bodyLimit and only `inspectBody` is inspected (policy 'partial'). */
  bodyTruncated: boolean;
  /** Set by the inspection plugin. */
  verdict?: Verdict;
  /** Set when an event is recorded (shown on the 403 page). */
  eventId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    waf: WafContext;
  }
}
