/** Serves the dashboard's static files (src/admin/ui) from an allow-list: no build step, no network at run time. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const FILES = ['index.html', 'app.js', 'chart.js', 'style.css'];

/** The ui/ directory next to this module, or the source one when running from dist/ (tsc does not copy assets). */
function uiDir(): string {
  const here = fileURLToPath(new URL('./ui/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/admin/ui/', import.meta.url));
}

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const dir = uiDir();
  const cache = new Map<string, Buffer>();
  app.get('/', { config: { role: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/*', { config: { role: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const name = (req.params as { '*': string })['*'] || 'index.html';
    if (!FILES.includes(name)) return reply.code(404).send({ error: 'WAF_ERR_NOT_FOUND', message: 'not found' });
    let body = cache.get(name);
    if (!body) {
      body = await readFile(dir + name);
      cache.set(name, body);
    }
    const ext = name.slice(name.lastIndexOf('.'));
    return reply
      .header('content-type', TYPES[ext] ?? 'application/octet-stream')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
      .send(body);
  });
}
