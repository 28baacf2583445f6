/** startBulwark(config): build services, the proxy and the admin listener, listen, and shut down gracefully. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildAdmin } from './admin/server.ts';
import { setupEvents } from './admin/plugin.ts';
import { buildApp } from './app.ts';
import { parseHostPort, type BulwarkConfig } from './config.ts';
import { inspectionPlugin } from './inspect/plugin.ts';
import { setupRateLimits } from './ratelimit/setup.ts';
import { setupStore } from './store/wire.ts';
import { InspectionLanes } from './inspect/inspection-lanes.ts';
import type { Services } from './services.ts';

export interface Running {
  proxy: FastifyInstance;
  admin: FastifyInstance;
  services: Services;
  /** Bound addresses (useful with port 0). */
  proxyAddress: { host: string; port: number };
  adminAddress: { host: string; port: number };
  /** Stop accepting, let in-flight requests finish (up to shutdownTimeoutMs), close pools and services. */
  close(): Promise<void>;
}

/** The process logger: pino JSON lines, secrets in headers redacted. */
export function createLogger(config: BulwarkConfig, destination?: NodeJS.WritableStream): Logger {
  const opts = {
    level: config.logging.level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]'], censor: '[redacted]' },
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

/** Wire the optional services of the other parts. Each adds its own lines here. */
export async function createServices(config: BulwarkConfig, logger: Logger): Promise<Services> {
  const services: Services = { config, logger, readiness: [], adminPlugins: [], onClose: [] };
  // [issue 3] the inspection threads, before the store: its compile hands every version to them before the swap.
  if (config.inspection.thread) {
    // No body the engine reads (at most inspection.bodyLimit bytes) reaches a limit above bodyLimit: no second thread.
    const large = config.inspection.largeBodyThread;
    const threads = new InspectionLanes({ log: logger.child({ part: 'inspect' }), largeFrom: large !== false && large <= config.inspection.bodyLimit ? large : false });
    services.inspectionThreads = threads;
    services.onClose?.push(() => threads.close());
  }
  // [issue 5] store + live ruleset:     services.store = ...; services.rules = ...; services.readiness.push(...)
  await setupStore(config, services);
  // [issue 3] inspection engine plugin: services.inspector = ...
  services.inspector = inspectionPlugin;
  // [issue 6] rate limits:              services.rateLimiter = ...
  await setupRateLimits(config, services);
  // [issue 7] events, metrics, admin:   services.events = ...; services.metrics = ...; services.adminPlugins.push(...)
  await setupEvents(config, services);
  return services;
}

function address(app: FastifyInstance): { host: string; port: number } {
  const a = app.server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

/** Start Bulwark in this process. */
export async function startBulwark(config: BulwarkConfig, opts: { logger?: Logger; services?: Services } = {}): Promise<Running> {
  const logger = opts.logger ?? createLogger(config);
  const services = opts.services ?? (await createServices(config, logger));
  let accepting = false;
  const proxy = await buildApp(config, services);
  const admin = await buildAdmin(services, { proxyReady: () => accepting });
  const p = parseHostPort(config.listen)!;
  const a = parseHostPort(config.admin.listen)!;
  await proxy.listen({ host: p.host, port: p.port });
  try {
    await admin.listen({ host: a.host, port: a.port });
  } catch (e) {
    await proxy.close();
    throw e;
  }
  accepting = true;
  const proxyAddress = address(proxy);
  const adminAddress = address(admin);
  logger.info({ proxy: `${proxyAddress.host}:${proxyAddress.port}`, admin: `${adminAddress.host}:${adminAddress.port}`, mode: config.mode, sites: config.sites.length || 1 }, 'bulwark listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      accepting = false;
      // Fastify stops accepting, answers 503 to new requests on kept-alive sockets, closes idle ones and waits for in-flight.
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
        proxy.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      timer.unref();
      await proxy.close();
      clearTimeout(timer);
      await admin.close();
      for (const fn of services.onClose ?? []) await Promise.resolve(fn()).catch((e) => logger.error({ err: e }, 'shutdown hook failed'));
      logger.info('bulwark stopped');
    })());
  return { proxy, admin, services, proxyAddress, adminAddress, close };
}
