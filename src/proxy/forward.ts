/** Forward one request upstream: the raw request target, the exact body that was read, our headers; map failures to codes. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { WafError } from '../errors.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { isTls } from './tls.ts';
import { UpstreamCall, type UpstreamAnswer } from './upstream-call.ts';
import type { Upstreams } from './upstreams.ts';

/** Answers with a declared length up to this are read whole and sent with their headers in one write. */
export const BUFFER_MAX = 64 * 1024;

export interface ForwardOptions {
  upstreams: Upstreams;
  preserveHost: boolean;
  stripResponseHeaders: ReadonlySet<string>;
  isTrustedPeer: (peer: string) => boolean;
  /** True when an onSend hook must see this request's upstream body as a stream (response inspection, cache). */
  streamOnly?: (request: FastifyRequest) => boolean;
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

/** Send the request upstream and pass the answer back (whole or streamed). Throws WafError (502/503/504) before any byte is sent. */
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

  const method = raw.method!;
  const call = new UpstreamCall(method, opts.streamOnly?.(request) ? -1 : BUFFER_MAX, (err) =>
    request.log.warn({ err: (err as { code?: string }).code ?? err.message }, 'upstream response body failed'),
  );
  // The client went away before the answer was complete: cancel the upstream request.
  const onClose = () => {
    if (!reply.raw.writableFinished) call.abort(new undiciErrors.RequestAbortedError('the client closed the connection'));
  };
  reply.raw.once('close', onClose);

  let answer: UpstreamAnswer;
  try {
    opts.upstreams.get(waf.upstream).dispatch(
      { path: raw.url!, method: method as Dispatcher.HttpMethod, headers, body, headersTimeout: waf.resolved.timeoutMs, bodyTimeout: waf.resolved.timeoutMs },
      call,
    );
    answer = await call.answer;
  } catch (err) {
    reply.raw.off('close', onClose);
    if (call.aborted) return undefined; // client is gone; nothing to answer
    throw upstreamError(err);
  }
  const out = answer.body;
  if (out === null || Buffer.isBuffer(out)) reply.raw.off('close', onClose);
  else out.once('end', () => reply.raw.off('close', onClose));
  reply.code(answer.status);
  reply.headers(clientResponseHeaders(answer.headers, opts.stripResponseHeaders));
  reply.header('x-request-id', waf.id);
  return out === null ? reply.send() : reply.send(out);
}
