/** Fastify hooks for rate limits and bans: ban lookup and per-request policies in onRequest, body-keyed and login policies in preHandler, feedback in onResponse. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildEvent } from '../log/event.ts';
import { renderErrorPage } from '../pages.ts';
import type { ServicePlugin, Services } from '../services.ts';
import type { Action } from '../types.ts';
import { capConnectionsPerPeer, InFlight } from './connections.ts';
import { clientKey } from './ip-key.ts';
import type { PolicyRequest } from './policy-match.ts';
import type { LimitDecision, RateLimitConfig, RateLimitService } from './service.ts';
import type { RatePolicy } from '../types.ts';

/** Reads one field from a urlencoded or JSON body (only login/field policies call this, and only on their routes). */
export function bodyField(body: Buffer | null, contentType: string | undefined, name: string): string | undefined {
  if (!body || body.length === 0) return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(body.toString('utf8')).getAll(name).pop();
  }
  if (ct.includes('json')) {
    try {
      const v = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)?.[name];
      return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** What policies read of a request: one object per check, header/cookie/field read only when a policy asks. */
class RequestView implements PolicyRequest {
  readonly site: string;
  readonly path: string;
  readonly method: string;
  readonly clientIp: string;

  constructor(private readonly request: FastifyRequest) {
    const url = request.url;
    const q = url.indexOf('?');
    this.site = request.waf.site;
    this.path = q >= 0 ? url.slice(0, q) : url;
    this.method = request.method;
    this.clientIp = request.waf.clientIp;
  }

  header(name: string): string | undefined {
    const v = this.request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  cookie(name: string): string | undefined {
    return cookieOf(this.request.headers.cookie, name);
  }

  field(name: string): string | undefined {
    return bodyField(this.request.waf.body, this.request.headers['content-type'], name);
  }
}

const answered = new WeakSet<FastifyRequest>();

function refuse(request: FastifyRequest, reply: FastifyReply, services: Services, d: Exclude<LimitDecision, { action: 'allow' }>): FastifyReply {
  const waf = request.waf;
  const action: Action = d.action;
  const event = buildEvent(
    { site: waf.site, route: waf.route, clientIp: waf.clientIp, peer: waf.peer, method: request.method, url: request.url, headers: request.headers },
    { action, mode: waf.mode, policy: d.policy, paranoia: waf.paranoia },
  );
  services.events?.record(event);
  waf.eventId = event.id;
  answered.add(request);
  const status = d.action === 'ban' ? 403 : 429;
  const retryAfter = d.action === 'rate-limit' ? d.retryAfterSec : undefined;
  request.log.info({ eventId: event.id, action, policy: d.policy, clientIp: waf.clientIp }, d.action === 'ban' ? 'banned client refused' : 'rate limited');
  const page = renderErrorPage(status, { requestId: request.id, eventId: event.id, retryAfter, code: status === 403 ? 'WAF_ERR_BLOCKED' : 'WAF_ERR_RATE_LIMITED' }, request.headers.accept);
  if (d.action === 'rate-limit') reply.headers(d.headers);
  return reply.code(status).header('content-type', page.contentType).header('x-request-id', request.id).send(page.body);
}

export interface RateLimitPluginOptions {
  service: RateLimitService;
  maxInFlightPerIp: number;
  /** Concurrent connections per peer address (0 = no cap). */
  maxConnectionsPerIp?: number;
  ipv6Prefix: number;
  /** Whether any policy needs the body (field-keyed or login); skips the preHandler otherwise. */
  needsBody: boolean;
  hasLogin: boolean;
  /** The config's settings; the policy list itself follows the live rule snapshot when there is one. */
  base: RateLimitConfig;
}

/** What the rate-limit plugin reads of the live rules: the snapshot's policies and its version. */
interface LivePolicies {
  live?: () => { version: number; snapshot: { ratePolicies?: RatePolicy[] } } | undefined;
}

/** The plugin app.ts registers (via services.rateLimiter). */
export function rateLimitPlugin(opts: RateLimitPluginOptions): ServicePlugin {
  const { service } = opts;
  const inFlight = opts.maxInFlightPerIp > 0 ? new InFlight(opts.maxInFlightPerIp) : null;
  return async (app, { services }) => {
    // Rate-limit policies are data in the rule store: when the live snapshot changes version, its policies replace
    // the running set (counters in Redis survive the swap). One property read per request when nothing changed.
    const rules = services.rules as LivePolicies | undefined;
    let policiesVersion = -1;
    const followStore = () => {
      const live = rules?.live?.();
      if (!live || live.version === policiesVersion) return;
      policiesVersion = live.version;
      if (!live.snapshot.ratePolicies) return;
      try {
        service.setPolicies({ ...opts.base, policies: live.snapshot.ratePolicies });
      } catch (err) {
        app.log.error({ err: (err as Error).message, version: live.version }, 'rate limiting: policies of the live rules refused, keeping the previous set');
      }
    };
    if (opts.maxConnectionsPerIp) {
      capConnectionsPerPeer(app.server, opts.maxConnectionsPerIp, (peer) => app.log.warn({ peer, max: opts.maxConnectionsPerIp }, 'connection refused: too many connections from one address'));
    }
    app.addHook('onRequest', async (request, reply) => {
      followStore();
      const ip = request.waf.clientIp;
      const ban = service.checkBan(ip);
      if (ban.action !== 'allow') return refuse(request, reply, services, ban);
      if (inFlight) {
        const key = clientKey(ip, opts.ipv6Prefix);
        if (!inFlight.enter(key)) {
          return refuse(request, reply, services, { action: 'rate-limit', policy: 'in-flight', retryAfterSec: 1, headers: { 'retry-after': '1' } });
        }
        reply.raw.once('close', () => inFlight.leave(key));
      }
      const d = await service.check(new RequestView(request), 'request');
      if (d.action !== 'allow') return refuse(request, reply, services, d);
      if (d.headers) reply.headers(d.headers);
    });

    if (opts.needsBody || rules?.live) {
      app.addHook('preHandler', async (request, reply) => {
        if (!service.hasBodyPhase || answered.has(request)) return;
        const d = await service.check(new RequestView(request), 'body');
        if (d.action !== 'allow') return refuse(request, reply, services, d);
      });
    }

    app.addHook('onResponse', async (request, reply) => {
      if (answered.has(request)) return;
      const verdict = request.waf?.verdict;
      if (verdict?.action === 'block') {
        service.recordAttack(request.waf.clientIp).then(
          (ban) => ban && request.log.warn({ clientIp: ban.ip, until: new Date(ban.until).toISOString(), reason: ban.reason }, 'client banned'),
          (err: Error) => request.log.warn({ err: err.message }, 'rate limiting: could not count an attack'),
        );
        return;
      }
      if (opts.hasLogin && request.method !== 'GET') {
        service.loginResult(new RequestView(request), reply.statusCode).catch((err: Error) => request.log.warn({ err: err.message }, 'rate limiting: could not count a login result'));
      }
    });
  };
}
