/** Admin bearer-token auth: named tokens with roles (admin / viewer = read-only) from config or env; sets request.admin. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WafError } from '../errors.ts';

export type AdminRole = 'admin' | 'viewer';
export interface AdminIdentity {
  name: string;
  role: AdminRole;
}
export interface TokenEntry {
  name: string;
  token: string;
  role: AdminRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    admin?: AdminIdentity;
  }
  interface FastifyContextConfig {
    /** Least role a route needs (default: viewer for GET/HEAD, admin otherwise). */
    role?: AdminRole | 'public';
  }
}

/** Tokens from config plus env: BULWARK_ADMIN_TOKEN (role admin), BULWARK_ADMIN_VIEWER_TOKEN (read-only). */
export function tokensFrom(config: { admin: { tokens?: Array<{ name: string; token: string; role?: string }> } }, env: NodeJS.ProcessEnv = process.env): TokenEntry[] {
  const out: TokenEntry[] = (config.admin.tokens ?? []).map((t) => ({ name: t.name, token: t.token, role: t.role === 'viewer' || t.role === 'read-only' ? 'viewer' : 'admin' }));
  if (env.BULWARK_ADMIN_TOKEN) out.push({ name: 'env-admin', token: env.BULWARK_ADMIN_TOKEN, role: 'admin' });
  if (env.BULWARK_ADMIN_VIEWER_TOKEN) out.push({ name: 'env-viewer', token: env.BULWARK_ADMIN_VIEWER_TOKEN, role: 'viewer' });
  for (const t of out) if (t.token.length < 16) throw new WafError('WAF_ERR_CONFIG_INVALID', `admin token "${t.name}" is shorter than 16 characters`);
  return out;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '::ffff:127.0.0.1';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Resolve a bearer token to an identity (constant-time per candidate). */
export function identify(tokens: TokenEntry[], header: string | undefined): AdminIdentity | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const given = digest(m[1]);
  let found: AdminIdentity | null = null;
  for (const t of tokens) if (timingSafeEqual(given, digest(t.token)) && !found) found = { name: t.name, role: t.role };
  return found;
}

export interface AuthOptions {
  tokens: TokenEntry[];
  /** The admin listener address (host:port), to refuse an open non-loopback bind. */
  listenHost: string;
  /** Paths served without a token (static dashboard files, health). */
  publicPrefixes?: string[];
}

const PUBLIC = ['/healthz', '/readyz', '/ui/', '/favicon.ico'];

/**
 * Install the auth hook on the admin instance (call on the root admin instance, not encapsulated).
 * No tokens configured → loopback-only local admin mode (everyone is admin); a non-loopback bind without a token is refused.
 */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  const open = opts.tokens.length === 0;
  if (open && !isLoopback(opts.listenHost)) {
    throw new WafError('WAF_ERR_CONFIG_INVALID', `refusing to bind the admin listener to ${opts.listenHost} without a token: set admin.tokens or BULWARK_ADMIN_TOKEN, or listen on 127.0.0.1`);
  }
  if (open) app.log.warn('admin API has no token configured: open to local (loopback) clients only, every caller is admin');
  const publicPrefixes = [...PUBLIC, ...(opts.publicPrefixes ?? [])];
  app.decorateRequest('admin', undefined);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    const routeRole = req.routeOptions.config?.role;
    if (routeRole === 'public' || path === '/' || publicPrefixes.some((p) => path === p || (p.endsWith('/') && path.startsWith(p)))) return;
    if (open) {
      req.admin = { name: 'local', role: 'admin' };
      return;
    }
    const who = identify(opts.tokens, req.headers.authorization);
    if (!who) {
      req.log.info({ path, code: 'WAF_ERR_ADMIN_UNAUTHORIZED' }, 'admin: missing or unknown token');
      return reply.code(401).header('www-authenticate', 'Bearer realm="bulwark-admin"').send({ error: 'WAF_ERR_ADMIN_UNAUTHORIZED', message: 'a bearer token is required (Authorization: Bearer <token>)' });
    }
    req.admin = who;
    const need = routeRole ?? (req.method === 'GET' || req.method === 'HEAD' ? 'viewer' : 'admin');
    if (need === 'admin' && who.role !== 'admin') {
      req.log.info({ path, admin: who.name, code: 'WAF_ERR_FORBIDDEN' }, 'admin: role too low');
      return reply.code(403).send({ error: 'WAF_ERR_FORBIDDEN', message: `token "${who.name}" is read-only; this needs role admin` });
    }
  });
}
