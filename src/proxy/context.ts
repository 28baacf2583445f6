/** The first onRequest hook: request id, peer and client IP, request-line limits, Host routing, method allow-list → `request.waf`. */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { BulwarkConfig } from '../config.ts';
import { clientIp, normalizeIp, type TrustedProxies } from '../client-ip.ts';
import { WafError } from '../errors.ts';
import type { Router } from './routing.ts';

export interface ContextDeps {
  config: BulwarkConfig;
  router: Router;
  trusted: TrustedProxies;
}

/** Accept an incoming X-Request-Id only when it is short and plain. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
export function validRequestId(v: unknown): v is string {
  return typeof v === 'string' && REQUEST_ID.test(v);
}

export function contextHook(deps: ContextDeps) {
  const { maxUriLength, maxHeaderCount } = deps.config.limits;
  return function wafContext(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const raw = request.raw;
    const url = raw.url ?? '';
    const peer = normalizeIp(raw.socket.remoteAddress ?? '');
    reply.header('x-request-id', request.id);
    const r = deps.router.resolve(raw.headers.host, url);
    request.waf = {
      id: request.id,
      clientIp: clientIp(peer, raw.headers['x-forwarded-for'], deps.trusted),
      peer,
      site: r?.site ?? '',
      route: r?.route ?? '',
      mode: r?.mode ?? deps.config.mode,
      paranoia: r?.paranoia ?? deps.config.paranoia,
      threshold: r?.threshold ?? deps.config.threshold,
      upstream: r?.upstream ?? '',
      resolved: r!,
      forwardedAt: 0,
      inspectionMs: -1,
      res: reply.raw,
      body: null,
      inspectBody: null,
      bodyTruncated: false,
    };
    if (url.length > maxUriLength) return done(new WafError('WAF_ERR_URI_TOO_LONG', undefined, { length: url.length }));
    // Node keeps at most maxHeaderCount + 1 pairs (server.maxHeadersCount), so "more than the limit" is visible here.
    if (raw.rawHeaders.length / 2 > maxHeaderCount) return done(new WafError('WAF_ERR_HEADERS_TOO_LARGE', 'too many headers'));
    if (url.charCodeAt(0) !== 47 /* '/' */) return done(new WafError('WAF_ERR_BAD_REQUEST', 'request target must be origin-form', { url: url.slice(0, 64) }));
    // RFC 9112 §3.2: more than one Host is a 400 (routing and the backend must not see different hosts).
    if (hostCount(raw.rawHeaders) > 1) return done(new WafError('WAF_ERR_BAD_REQUEST', 'more than one Host header'));
    if (!r) return done(new WafError('WAF_ERR_UNKNOWN_HOST', undefined, { host: String(raw.headers.host ?? '').slice(0, 256) }));
    if (!r.methods.has(raw.method!)) {
      reply.header('allow', [...r.methods].join(', '));
      return done(new WafError('WAF_ERR_METHOD_NOT_ALLOWED', undefined, { method: raw.method }));
    }
    done();
  };
}

function hostCount(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    if (k.length === 4 && k.toLowerCase() === 'host') n++;
  }
  return n;
}
