/** Forward one request upstream: the raw request target, the exact body that was read, our headers; map failures to codes. */
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as undiciErrors } from 'undici';
import { WafError } from '../errors.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { isTls } from './tls.ts';
import type { Upstreams } from './upstreams.ts';

export interface ForwardOptions {
  upstreams: Upstreams;
  preserveHost: boolean;
  stripResponseHeaders: ReadonlySet<string>;
  isTrustedPeer: (peer: string) => boolean;
}

/** Map an undici error to our stable code: timeouts → 504, everything else → 502. */
export function upstreamError(err: unknown): WafError {
  const code = (err as { code?: string })?.code ?? '';
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return new WafError('WAF_ERR_UPSTREAM_TIMEOUT', undefined, { cause: code }, { cause: err });
  }
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') return new WafError('WAF_ERR_SHUTTING_DOWN', undefined, { cause: code }, { cause: err });
  return new WafError('WAF_ERR_UPSTREAM_UNAVAILABLE', undefined, { cause: code || String(err) }, { cause: err });
}

/**
 * Cancels the upstream request when the client goes away. undici takes an EventEmitter with `aborted`/`reason` as
 * its `signal`; an AbortController costs ~5 µs per request to make and listen to (EventTarget), this ~0.2 µs, and the
 * proxy makes one for every request.
 */
class ClientGone extends EventEmitter {
  aborted = false;
  reason: Error | undefined = undefined;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new undiciErrors.RequestAbortedError('the client closed the connection');
    this.emit('abort');
  }
}

/** Send the request upstream and stream the answer back. Throws WafError (502/503/504) before any byte is sent. */
export async function forward(request: FastifyRequest, reply: FastifyReply, opts: ForwardOptions): Promise<FastifyReply | undefined> {
  const waf = request.waf;
  const raw = request.raw;
  const headers = upstreamRequestHeaders(raw.rawHeaders, {
    peer: waf.peer,
    clientIp: waf.clientIp,
    trustedPeer: opts.isTrustedPeer(waf.peer),
    requestId: waf.id,
    preserveHost: opts.preserveHost,
    tls: isTls(raw.socket),
  });
  const body = waf.body;
  if (body !== null) headers.push('content-length', String(body.length));

  const gone = new ClientGone();
  const onClose = () => {
    if (!reply.raw.writableFinished) gone.abort();
  };
  reply.raw.once('close', onClose);

  let res;
  try {
    res = await opts.upstreams.get(waf.upstream).request({
      path: raw.url!,
      method: raw.method!,
      headers,
      body,
      headersTimeout: waf.resolved.timeoutMs,
      bodyTimeout: waf.resolved.timeoutMs,
      signal: gone,
    });
  } catch (err) {
    reply.raw.off('close', onClose);
    if (gone.aborted) return undefined; // client is gone; nothing to answer
    throw upstreamError(err);
  }
  res.body.once('end', () => reply.raw.off('close', onClose));
  res.body.once('error', (err) => request.log.warn({ err: (err as { code?: string }).code ?? err.message }, 'upstream response body failed'));
  reply.code(res.statusCode);
  reply.headers(clientResponseHeaders(res.headers, opts.stripResponseHeaders));
  reply.header('x-request-id', waf.id);
  return reply.send(res.body);
}
