/**
 * WebSocket (HTTP/1.1 Upgrade) pass-through. The handshake goes through the normal Fastify pipeline (context,
 * rate limits, inspection); only when it is allowed does the proxy open a raw tunnel to the upstream.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WafError } from '../errors.ts';
import { renderErrorPage } from '../pages.ts';
import { hasBody } from './body.ts';
import type { Balancer, ServerState } from './balancer.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { CONNECT_ERRORS } from './pooled.ts';
import { ClientFrameFilter, closeFrame, type MessageDecision } from './ws-frames.ts';
import type { WebsocketInspectionConfig } from './ws-inspect.ts';

const heads = new WeakMap<IncomingMessage, Buffer>();
const MAX_RESPONSE_HEAD = 64 * 1024;

/** Route 'upgrade' requests through Fastify with a response bound to the socket (no keep-alive after it). */
export function acceptUpgrades(app: FastifyInstance, server: Server, handshakeTimeoutMs: number): void {
  // Upgraded sockets are not HTTP connections Node can close when idle: track them and cut them on shutdown
  // (WebSocket clients reconnect; waiting for them would hold SIGTERM until the shutdown timeout).
  const open = new Set<Socket>();
  app.addHook('preClose', async () => {
    for (const s of open) s.destroy();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    // Node's timeouts no longer cover this socket: bound the handshake ourselves (cleared once the tunnel is up).
    socket.setTimeout(handshakeTimeoutMs || 30_000, () => socket.destroy());
    if (hasBody(req)) {
      // The parser is detached: a body could not be read (nor inspected). No WebSocket handshake has one.
      const page = renderErrorPage(400, { requestId: 'upgrade-with-body', code: 'WAF_ERR_BAD_REQUEST' }, undefined);
      app.log.info({ code: 'WAF_ERR_BAD_REQUEST', peer: socket.remoteAddress, upgrade: String(req.headers.upgrade).slice(0, 32) }, 'refused an Upgrade request with a body');
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: ${page.contentType}\r\nContent-Length: ${Buffer.byteLength(page.body)}\r\nConnection: close\r\n\r\n${page.body}`);
      return;
    }
    heads.set(req, head);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    // When Fastify answers itself (403, 421, 429 ...), close the socket after the answer.
    res.on('finish', () => {
      if (!socket.destroyed && !(req as { tunnelled?: boolean }).tunnelled) socket.end();
    });
    app.routing(req, res);
  });
}

/**
 * Only WebSocket is tunnelled. Any other Upgrade (h2c above all: a tunnelled h2c connection would give the client
 * a raw HTTP/2 channel to the backend past every check) is forwarded as a plain request with Upgrade removed.
 */
export function isUpgrade(req: IncomingMessage): boolean {
  return (req as { upgrade?: boolean }).upgrade === true && typeof req.headers.upgrade === 'string' && req.headers.upgrade.trim().toLowerCase() === 'websocket';
}

export interface TunnelOptions {
  preserveHost: boolean;
  stripResponseHeaders: ReadonlySet<string>;
  isTrustedPeer: (peer: string) => boolean;
  connectTimeoutMs: number;
  /** Per-message inspection (off when null): a checker per connection, with the cap settings. */
  messages?: { checker: (request: FastifyRequest) => (text: string) => MessageDecision; cfg: WebsocketInspectionConfig } | null;
}

/** Open the tunnel: send the handshake upstream, relay its answer (identifying headers removed), then pipe both ways. */
export function tunnel(request: FastifyRequest, reply: FastifyReply, opts: TunnelOptions): Promise<void> {
  const raw = request.raw;
  const waf = request.waf;
  const target = new URL(waf.upstream);
  const headers = upstreamRequestHeaders(raw.rawHeaders, { peer: waf.peer, clientIp: waf.clientIp, trustedPeer: opts.isTrustedPeer(waf.peer), requestId: waf.id, preserveHost: opts.preserveHost });
  if (!opts.preserveHost) headers.push('host', target.host);
  // Inspected messages must arrive uncompressed: no permessage-deflate offer reaches the backend.
  if (opts.messages) {
    for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i].toLowerCase() === 'sec-websocket-extensions') headers.splice(i, 2);
  }
  headers.push('connection', 'Upgrade', 'upgrade', raw.headers.upgrade as string);

  return new Promise<void>((resolve, reject) => {
    const up = connect({ host: target.hostname, port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)) });
    if (target.protocol === 'https:') {
      up.destroy();
      return reject(new WafError('WAF_ERR_UPSTREAM_UNAVAILABLE', undefined, { cause: 'websocket to an https upstream is not supported' }));
    }
    let settled = false;
    const fail = (err: WafError) => {
      if (settled) return;
      settled = true;
      up.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new WafError('WAF_ERR_UPSTREAM_TIMEOUT', undefined, { cause: 'websocket handshake' })), Math.max(opts.connectTimeoutMs, waf.resolved.timeoutMs));
    up.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(new WafError('WAF_ERR_UPSTREAM_UNAVAILABLE', undefined, { cause: e.code ?? e.message }));
    });
    up.once('connect', () => {
      let lines = `${raw.method} ${raw.url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
      up.write(lines + '\r\n');
      const head = heads.get(raw);
      if (head && head.length) up.write(head);
    });
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) {
          clearTimeout(timer);
          fail(new WafError('WAF_ERR_UPSTREAM_UNAVAILABLE', undefined, { cause: 'upstream response head too large' }));
        }
        return;
      }
      up.off('data', onData);
      clearTimeout(timer);
      settled = true;
      const headLines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const rest = buf.subarray(end + 4);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(headLines[0])?.[1];
      const kept = headLines.slice(1).filter((l) => !opts.stripResponseHeaders.has(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
      const socket = raw.socket;
      (raw as { tunnelled?: boolean }).tunnelled = true;
      reply.hijack();
      socket.write(`${headLines[0]}\r\n${kept.join('\r\n')}${kept.length ? '\r\n' : ''}x-request-id: ${waf.id}\r\n\r\n`);
      if (rest.length) socket.write(rest);
      if (status !== '101') {
        // The backend refused the upgrade: relay its answer, then close.
        up.pipe(socket);
        up.on('close', () => socket.destroy());
        return resolve();
      }
      socket.setTimeout(0);
      socket.setNoDelay(true);
      up.setNoDelay(true);
      up.pipe(socket);
      let farewell = false;
      if (opts.messages) {
        const check = opts.messages.checker(request);
        const filter = new ClientFrameFilter({
          maxBytes: opts.messages.cfg.maxBytes,
          oversize: opts.messages.cfg.oversize,
          check,
          forward: (b) => {
            if (!up.write(b)) {
              socket.pause();
              up.once('drain', () => socket.resume());
            }
          },
          close: (code, reason) => {
            // Our close frame must reach the client before the socket goes: end it (not destroy), bounded.
            farewell = true;
            up.unpipe(socket);
            socket.end(closeFrame(code, reason));
            setTimeout(() => socket.destroy(), 5_000).unref();
            up.destroy();
          },
          passed: (bytes) => request.log.info({ part: 'websocket', bytes, maxBytes: opts.messages!.cfg.maxBytes }, 'websocket message over maxBytes forwarded uninspected'),
        });
        socket.on('data', (c: Buffer) => filter.push(c));
        socket.on('end', () => up.end());
      } else socket.pipe(up);
      const close = () => {
        up.destroy();
        if (!farewell) socket.destroy();
      };
      up.on('close', close);
      socket.on('close', close);
      up.on('error', close);
      resolve();
    };
    up.on('data', onData);
  });
}

/** Tunnel to a server of a pool (the balancer picks; a connect failure is counted and another server tried). */
export async function tunnelPooled(request: FastifyRequest, reply: FastifyReply, opts: TunnelOptions, balancer: Balancer): Promise<void> {
  const tried = new Set<ServerState>();
  for (;;) {
    const s = balancer.pick(tried);
    if (!s) throw new WafError('WAF_ERR_NO_UPSTREAM', undefined, { site: request.waf.site, route: request.waf.route, tried: tried.size, websocket: true });
    tried.add(s);
    request.waf.upstream = s.origin;
    s.inFlight++;
    try {
      await tunnel(request, reply, opts);
    } catch (err) {
      s.inFlight--;
      const cause = (err instanceof WafError ? (err.details as { cause?: unknown } | undefined)?.cause : undefined) ?? '';
      if (typeof cause === 'string' && CONNECT_ERRORS.has(cause)) {
        balancer.failure(s);
        request.log.warn({ code: cause, attempt: tried.size }, 'upstream connect failed (websocket)');
        continue;
      }
      throw err;
    }
    balancer.success(s);
    // A tunnel counts as in flight until the client's socket closes (least-in-flight sees long-lived connections).
    const socket = request.raw.socket;
    if (socket.destroyed) s.inFlight--;
    else socket.once('close', () => s.inFlight--);
    return;
  }
}
