/** POST /api/explain: dry-run a request through the live engine and return the verdict (nothing forwarded, nothing logged as an event). */
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { z } from 'zod';
import type { RequestInput, Verdict } from '../types.ts';

/** The engine's dry-run entry (issue 3): evaluate one request with the live ruleset. */
export type Explainer = (input: RequestInput) => Verdict | Promise<Verdict>;

const body = z.strictObject({
  method: z.string().regex(/^[A-Z]{1,16}$/).default('GET'),
  url: z.string().startsWith('/').max(16 * 1024),
  headers: z.union([z.record(z.string(), z.string()), z.array(z.tuple([z.string(), z.string()]))]).default({}),
  body: z.string().max(1024 * 1024).optional(),
  /** Body given as base64 (binary). */
  bodyBase64: z.string().max(1.4 * 1024 * 1024).optional(),
  site: z.string().max(64).optional(),
  clientIp: z.string().max(64).optional(),
});

export async function explainRoute(app: FastifyInstance, opts: { explainer: () => Explainer | undefined }): Promise<void> {
  app.post('/explain', { config: { role: 'viewer' }, bodyLimit: 2 * 1024 * 1024, schema: { summary: 'Dry-run a request through the live engine; returns the verdict with every match', tags: ['rules'] } }, async (req, reply) => {
    const r = body.safeParse(req.body ?? {});
    if (!r.success) {
      const details = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return reply.code(400).send({ error: 'WAF_ERR_BAD_REQUEST', message: `bad request: ${details.join('; ')}`, details });
    }
    const explain = opts.explainer();
    if (!explain) return reply.code(503).send({ error: 'WAF_ERR_ENGINE_UNAVAILABLE', message: 'no inspection engine is loaded in this process' });
    const b = r.data;
    const headers: Array<[string, string]> = Array.isArray(b.headers) ? b.headers : Object.entries(b.headers);
    if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.unshift(['host', 'explain.local']);
    const payload = b.bodyBase64 !== undefined ? Buffer.from(b.bodyBase64, 'base64') : b.body !== undefined ? Buffer.from(b.body, 'utf8') : null;
    const input: RequestInput = { method: b.method, url: b.url, httpVersion: '1.1', headers, body: payload, clientIp: b.clientIp ?? '127.0.0.1', site: b.site };
    const verdict = await explain(input);
    return { input: { method: input.method, url: input.url, site: input.site }, verdict };
  });
}
