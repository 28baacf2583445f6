/** TLS termination: certificates by SNI, TLS ≥ 1.2, reload on SIGHUP (secure-context swap), HSTS and an HTTP→HTTPS redirect listener. */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { z } from 'zod';

export const tlsSchema = z.strictObject({
  /** PEM files; the first is the default, the others are chosen by SNI (`servername`, or the certificate's names). */
  certs: z.array(z.strictObject({ cert: z.string().min(1), key: z.string().min(1), servername: z.string().optional() })).min(1),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  /** A plain-HTTP listener (HOST:PORT) that answers every request with 308 to the https:// URL. */
  redirectFrom: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/).optional(),
  /** Strict-Transport-Security on responses sent over TLS. */
  hsts: z.strictObject({ maxAge: z.number().int().nonnegative().default(15_552_000), includeSubDomains: z.boolean().default(false) }).optional(),
});
export type TlsConfig = z.output<typeof tlsSchema>;

/** Secure contexts by server name, rebuilt from the files on every load. */
export class Certificates {
  default!: SecureContext;
  private byName = new Map<string, SecureContext>();
  constructor(private readonly cfg: TlsConfig) {
    this.load();
  }

  /** Read the files again; throws (keeping the old contexts) when any of them is unreadable or invalid. */
  load(): void {
    const byName = new Map<string, SecureContext>();
    let first: SecureContext | null = null;
    for (const c of this.cfg.certs) {
      const ctx = createSecureContext({ cert: readFileSync(c.cert), key: readFileSync(c.key), minVersion: this.cfg.minVersion });
      first ??= ctx;
      if (c.servername) byName.set(c.servername.toLowerCase(), ctx);
    }
    this.default = first!;
    this.byName = byName;
  }

  /** The context for an SNI name: exact, then "*.suffix", then the default. */
  forName(name: string | undefined): SecureContext {
    if (!name) return this.default;
    const n = name.toLowerCase();
    const exact = this.byName.get(n);
    if (exact) return exact;
    const dot = n.indexOf('.');
    return (dot > 0 && this.byName.get('*' + n.slice(dot))) || this.default;
  }
}

/** Options for https.createServer: modern protocol floor, SNI callback reading the current contexts. */
export function httpsOptions(cfg: TlsConfig, certs: Certificates) {
  const first = cfg.certs[0];
  return {
    cert: readFileSync(first.cert),
    key: readFileSync(first.key),
    minVersion: cfg.minVersion,
    SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, certs.forName(name)),
  };
}

export function isTls(socket: unknown): boolean {
  return (socket as TLSSocket | undefined)?.encrypted === true;
}

export function hstsValue(h: NonNullable<TlsConfig['hsts']>): string {
  return `max-age=${h.maxAge}${h.includeSubDomains ? '; includeSubDomains' : ''}`;
}

/** The plain listener: 308 to https://<host><:tlsPort unless 443><target>. No Host → 400. */
export function redirectServer(tlsPort: () => number): HttpServer {
  return createHttpServer({ requireHostHeader: false, maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const target = req.url ?? '/';
    if (!host || !/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$/.test(host) || !target.startsWith('/')) {
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('Bad Request\n');
      return;
    }
    const port = tlsPort();
    res.writeHead(308, { location: `https://${host}${port === 443 ? '' : `:${port}`}${target}`, 'content-length': 0, connection: 'close' }).end();
  });
}

/** The proxy's server: https (with the certificates) when TLS is configured, else plain http; same limits either way. */
export function createProxyServer(opts: ServerOptions, handler: (req: IncomingMessage, res: ServerResponse) => void, tls: { cfg: TlsConfig; certs: Certificates } | null): HttpServer {
  if (!tls) return createHttpServer(opts, handler);
  return createHttpsServer({ ...opts, ...httpsOptions(tls.cfg, tls.certs) }, handler) as unknown as HttpServer;
}
