/** buildApp(config, services): the proxy listener — context, rate limits, bounded body, inspection, forwarding, our error pages. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { BulwarkConfig } from './config.ts';
import { TrustedProxies } from './client-ip.ts';
import { codeForStatus, WafError } from './errors.ts';
import { renderErrorPage } from './pages.ts';
import { hasBody, readBody } from './proxy/body.ts';
import { BodyBudget } from './proxy/body-budget.ts';
import { contextHook, validRequestId } from './proxy/context.ts';
import { forward } from './proxy/forward.ts';
import { startHealthChecks } from './proxy/health.ts';
import { forwardPooled, Pools } from './proxy/pooled.ts';
import { Certificates, createProxyServer, hstsValue, isTls, redirectServer } from './proxy/tls.ts';
import { parseHostPort } from './config.ts';
import { createCaches } from './proxy/cache.ts';
import { cacheRoutes } from './admin/cache-routes.ts';
import { securityHeaders } from './proxy/hardening.ts';
import { ResponseInspection } from './response/inspect-hook.ts';
import { Router } from './proxy/routing.ts';
import { Upstreams } from './proxy/upstreams.ts';
import { acceptUpgrades, isUpgrade, tunnel, tunnelPooled } from './proxy/websocket.ts';
import { messageChecker } from './proxy/ws-inspect.ts';
import type { ServicePlugin, Services } from './services.ts';

/** Register a service plugin on the root instance (not encapsulated), so its hooks cover the proxy route. */
function open(plugin: ServicePlugin): ServicePlugin {
  const wrapped = (async (instance, opts) => plugin(instance, opts)) as ServicePlugin;
  (wrapped as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
  (wrapped as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = plugin.name || 'service';
  return wrapped;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };

/** Build the proxy Fastify instance (not listening yet). */
export async function buildApp(config: BulwarkConfig, services: Services): Promise<FastifyInstance> {
  const { limits } = config;
  const logger = services.logger;
  // TLS termination (issue 8): certificates are read now; a bad file fails the start with a clear error.
  const certs = config.tls ? new Certificates(config.tls) : null;

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: !config.logging.requests, requestIdLogLabel: 'reqId' }),
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return validRequestId(h) ? h : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
    // The proxy never reads request.query (the engine parses the raw target itself): skip find-my-way's parse.
    routerOptions: { querystringParser: () => ({}) },
    bodyLimit: Math.max(limits.maxBodyBytes, ...config.sites.flatMap((s) => [s.maxBodyBytes ?? 0, ...s.routes.map((r) => r.maxBodyBytes ?? 0)])),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: 0,
    serverFactory: (handler) => {
      const server: Server = createProxyServer(
        {
          maxHeaderSize: limits.maxHeaderBytes,
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          // How often Node checks the two timeouts above (default 30 s would let slowloris sit far longer).
          connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs || 1000, limits.requestTimeoutMs || 1000) / 4))),
          requireHostHeader: true,
          insecureHTTPParser: false,
        },
        handler as (req: IncomingMessage, res: ServerResponse) => void,
        config.tls && certs ? { cfg: config.tls, certs } : null,
      );
      server.maxHeadersCount = limits.maxHeaderCount + 1;
      if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
      if (limits.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
      return server;
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      // Node's parser (llhttp) refused the request before Fastify saw it: CL+TE, bad chunking, bare LF, bad method...
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const requestId = randomUUID();
      logger.info({ reqId: requestId, code: codeForStatus(status), parserError: err.code, peer: socket.remoteAddress }, 'refused a malformed request');
      const page = renderErrorPage(status, { requestId }, undefined);
      socket.end(
        `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\nContent-Type: ${page.contentType}\r\nContent-Length: ${Buffer.byteLength(page.body)}\r\n` +
          `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${page.body}`,
      );
    },
  });

  const router = new Router(config);
  const trusted = new TrustedProxies(config.trustedProxies);
  const upstreams = new Upstreams(config, router.upstreams());
  const stripResponseHeaders = new Set(config.proxy.stripResponseHeaders);
  const inspectLimit = config.inspection.bodyLimit;
  const bodyBudget = new BodyBudget(config.limits.maxBufferedBodyBytes);
  services.bodyBudget = bodyBudget;

  app.decorateRequest('waf', null as never);

  // 1. onRequest: request context (id, client IP, site/route, limits, method allow-list).
  app.addHook('onRequest', contextHook({ config, router, trusted }));

  // 2. onRequest: rate limits and bans (issue 6) — reads request.waf.clientIp / site / route.
  if (services.rateLimiter) await app.register(open(services.rateLimiter), { services });

  // 3. Body: our own bounded reader for every Content-Type; the Buffer is what gets inspected and forwarded.
  const readFor = async (request: FastifyRequest): Promise<Buffer> => {
    const waf = request.waf;
    const hard = waf.resolved.maxBodyBytes;
    const limit = waf.resolved.bodyPolicy === 'reject' ? Math.min(hard, inspectLimit) : hard;
    const body = await readBody(request.raw, limit, bodyBudget);
    bodyBudget.holdUntilClosed(waf.res, body.length);
    waf.body = body;
    waf.bodyTruncated = body.length > inspectLimit;
    waf.inspectBody = waf.bodyTruncated ? body.subarray(0, inspectLimit) : body;
    return body;
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, _payload, done) => {
    readFor(request).then((b) => done(null, b), (e: Error) => done(e, undefined));
  });
  // Methods Fastify treats as bodyless (GET, HEAD, ...) still may carry a body: read it too, never leave it unread.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.waf.body === null && hasBody(request.raw) && !request.raw.readableEnded) readFor(request).then(() => done(), done);
    else done();
  });

  // 4. preHandler: inspection (issue 3) — reads request.waf.{inspectBody, bodyTruncated}, may answer 403 itself.
  if (services.inspector) await app.register(open(services.inspector), { services });

  // 5. onResponse: metrics (issue 7).
  if (services.metrics) await app.register(open(services.metrics), { services });

  app.setErrorHandler((err: FastifyError | WafError, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) => {
    // Reached only for methods Fastify does not route at all (the proxy route takes every path).
    sendError(new WafError('WAF_ERR_METHOD_NOT_ALLOWED', undefined, { method: request.method }), request, reply);
  });

  // Response inspection and the cache read upstream bodies as streams in onSend; elsewhere small answers are buffered.
  const leaks = new ResponseInspection({ sites: config.sites, origins: router.upstreams(), services });
  const streamOnly = (request: FastifyRequest) => request.waf.resolved.cache !== null || leaks.covers(request.waf.site);
  const forwardOpts = { upstreams, preserveHost: config.proxy.preserveHost, stripResponseHeaders, isTrustedPeer: (p: string) => trusted.has(p), streamOnly };
  const checker = messageChecker(config.proxy.websocketInspection, services);
  const tunnelOpts = { ...forwardOpts, connectTimeoutMs: config.proxy.connectTimeoutMs, messages: checker ? { checker, cfg: config.proxy.websocketInspection } : null };
  const pass = (request: FastifyRequest, reply: FastifyReply) => {
    const pool = request.waf.resolved.pool;
    return pool ? forwardPooled(request, reply, forwardOpts, pools.get(pool)) : forward(request, reply, forwardOpts);
  };
  app.route({
    method: app.supportedMethods.filter((m) => m !== 'CONNECT'),
    url: '/*',
    handler: (request, reply) => {
      request.waf.forwardedAt = performance.now();
      if (isUpgrade(request.raw)) return request.waf.resolved.pool ? tunnelPooled(request, reply, tunnelOpts, pools.get(request.waf.resolved.pool)) : tunnel(request, reply, tunnelOpts);
      // Cache lookup runs here, after every inspection hook: a blocked request never reaches it.
      const cacheCfg = request.waf.resolved.cache;
      if (cacheCfg) return caches.serve(request, reply, cacheCfg).then((hit) => hit ?? pass(request, reply));
      return pass(request, reply);
    },
  });
  // WebSocket: Upgrade requests go through the same hooks (context, limits, inspection) before a tunnel opens.
  // Without this listener Node would treat them as plain requests and the proxy would drop the Upgrade header.
  if (config.proxy.websocket) acceptUpgrades(app as unknown as FastifyInstance, app.server, limits.requestTimeoutMs);

  // Response leak inspection (issue 8): before the cache hook, so a leaking body is never stored.
  if (leaks.active) app.addHook('onSend', (request, reply, payload) => leaks.onSend(request, reply, payload));
  // Response cache (issue 8): stores cacheable GET answers on their way out; purge from the admin API.
  const { caches, close: closeCaches } = createCaches(config, logger);
  // Only when some site or route caches: an onSend hook costs every response a promise.
  if (router.sites.some((s) => s.base.cache || s.routes.some((r) => r.resolved.cache))) {
    app.addHook('onSend', async (request, reply, payload) => (request.waf?.resolved?.cache ? caches.onSend(request, reply, payload) : payload));
  }
  (services.adminPlugins ??= []).push(cacheRoutes(caches));
  // Response hardening (issue 8): per-site security headers, only where the backend did not set the header itself.
  const hardening = new Map(config.sites.map((s) => [s.name, securityHeaders(s.securityHeaders)] as const).filter(([, h]) => h.length > 0));
  if (hardening.size > 0) {
    app.addHook('onSend', async (request, reply) => {
      const hs = hardening.get(request.waf?.site ?? '');
      if (hs) for (const [k, v] of hs) if (!reply.hasHeader(k)) reply.header(k, v);
    });
  }
  // Upstream pools (issue 8): one balancer per pool, active health checks until close.
  const pools = new Pools(router.pools());
  const stopHealth = startHealthChecks(pools.all(), app.log);
  // TLS: HSTS on TLS responses, certificates re-read on SIGHUP (new handshakes use them; open connections stay),
  // and the optional plain listener that redirects to https.
  let stopTls = async () => {};
  if (config.tls && certs) {
    const tls = config.tls;
    if (tls.hsts) {
      const v = hstsValue(tls.hsts);
      app.addHook('onSend', async (request, reply) => {
        if (isTls(request.raw.socket)) reply.header('strict-transport-security', v);
      });
    }
    const onHup = () => {
      try {
        certs.load();
        (app.server as unknown as import('node:tls').Server).setSecureContext({ cert: readFileSync(tls.certs[0].cert), key: readFileSync(tls.certs[0].key), minVersion: tls.minVersion });
        logger.info({ certs: tls.certs.length }, 'tls certificates reloaded');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'tls certificate reload failed; keeping the previous certificates');
      }
    };
    process.on('SIGHUP', onHup);
    const redirect = tls.redirectFrom ? redirectServer(() => (app.server.address() as import('node:net').AddressInfo | null)?.port ?? 443) : null;
    if (redirect) {
      const hp = parseHostPort(tls.redirectFrom!)!;
      app.addHook('onListen', async () => {
        await new Promise<void>((resolve, reject) => redirect.once('error', reject).listen(hp.port, hp.host, resolve));
      });
    }
    stopTls = async () => {
      process.off('SIGHUP', onHup);
      if (redirect?.listening) await new Promise<void>((r) => { redirect.closeAllConnections(); redirect.close(() => r()); });
    };
  }
  app.addHook('onClose', async () => {
    await stopTls();
    stopHealth();
    await upstreams.close();
    await closeCaches();
  });
  return app as unknown as FastifyInstance;
}

/** Our error page for any failure (never an upstream address or a stack). */
export function sendError(err: FastifyError | WafError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const raw = err as Partial<FastifyError> & { details?: unknown };
  let status = typeof raw.statusCode === 'number' && raw.statusCode >= 400 && raw.statusCode < 600 ? raw.statusCode : 500;
  if (raw.code === 'FST_ERR_CTP_BODY_TOO_LARGE') status = 413;
  const code = err instanceof WafError ? err.code : codeForStatus(status);
  const fields = { code, status, detail: err instanceof WafError ? err.details : raw.code, site: request.waf?.site };
  if (status >= 500 && code === 'WAF_ERR_INTERNAL') request.log.error({ ...fields, err }, 'internal error');
  else if (code === 'WAF_ERR_OVERLOADED') request.log.warn(fields, 'refused: overloaded');
  else if (status >= 500) request.log.warn(fields, 'upstream failure');
  else request.log.info(fields, 'request refused');
  // A body left unread (refused before or while it was read) is not waited for: the connection closes after the answer.
  if (status === 413 || status === 400 || status === 408 || (!request.raw.complete && hasBody(request.raw))) reply.header('connection', 'close');
  if (code === 'WAF_ERR_OVERLOADED') reply.header('retry-after', '1');
  const page = renderErrorPage(status, { requestId: request.id, code, eventId: request.waf?.eventId }, request.headers.accept);
  return reply.code(status).header('content-type', page.contentType).header('x-request-id', request.id).send(page.body);
}
