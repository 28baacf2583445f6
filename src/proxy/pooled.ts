/** Forward through a pool: pick a server, retry idempotent requests on connect errors with another one, 503 when none is up. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WafError } from '../errors.ts';
import { Balancer, type PoolSpec, type ServerState } from './balancer.ts';
import { forward, type ForwardOptions } from './forward.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures where the request did not reach the application (safe to count against the server). */
export const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

function causeCode(err: unknown): string {
  if (!(err instanceof WafError)) return '';
  const d = err.details as { cause?: unknown } | undefined;
  return typeof d?.cause === 'string' ? d.cause : '';
}

/** One Balancer per compiled pool (routes that inherit a site's pool share it). */
export class Pools {
  private readonly map = new Map<PoolSpec, Balancer>();
  constructor(specs: Iterable<PoolSpec>) {
    for (const s of specs) if (!this.map.has(s)) this.map.set(s, new Balancer(s));
  }
  get(spec: PoolSpec): Balancer {
    let b = this.map.get(spec);
    if (!b) this.map.set(spec, (b = new Balancer(spec)));
    return b;
  }
  all(): Iterable<Balancer> {
    return this.map.values();
  }
}

export async function forwardPooled(request: FastifyRequest, reply: FastifyReply, opts: ForwardOptions, balancer: Balancer): Promise<FastifyReply | undefined> {
  const retry = IDEMPOTENT.has(request.raw.method ?? '');
  const tried = new Set<ServerState>();
  let lastErr: unknown = null;
  for (;;) {
    const s = balancer.pick(tried);
    // None left (all down, ejected, or all tried for this request) → 503 quickly with our page.
    if (!s) throw new WafError('WAF_ERR_NO_UPSTREAM', undefined, { site: request.waf.site, route: request.waf.route, tried: tried.size, cause: causeCode(lastErr) || undefined });
    tried.add(s);
    s.inFlight++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        s.inFlight--;
      }
    };
    request.waf.upstream = s.origin;
    try {
      const r = await forward(request, reply, opts);
      balancer.success(s);
      if (reply.raw.writableFinished || reply.raw.destroyed) release();
      else reply.raw.once('close', release);
      return r;
    } catch (err) {
      release();
      const code = causeCode(err);
      if (!CONNECT_ERRORS.has(code)) throw err;
      balancer.failure(s);
      request.log.warn({ code, attempt: tried.size, retry }, 'upstream connect failed');
      if (!retry) throw err;
      lastErr = err;
    }
  }
}
