/** Admin API routes for the live rules: list/show, disable/enable/set, push/diff, history/rollback, exclusions, site modes. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SignatureOverride, SignatureSpec } from '../types.ts';
import { StoreError } from '../store/errors.ts';
import type { RuleService } from '../store/rule-service.ts';
import { addExclusion, diffSignatures, pushSignatures, removeExclusion, setEnabled, setMode, setRule } from '../store/changes.ts';
import type { RuleSnapshot } from '../store/snapshot.ts';
import { formatZodError, signatureSchema } from '../signatures/schema.ts';

export interface AdminIdentity {
  name: string;
  role: string;
}

export interface RulesRoutesOptions {
  rules: RuleService<unknown>;
  /** Largest accepted library push in bytes. */
  pushLimitBytes?: number;
}

/** The admin set by the auth plugin (src/admin/auth.ts) on the request. */
const adminOf = (req: FastifyRequest): AdminIdentity | undefined => (req as FastifyRequest & { admin?: AdminIdentity }).admin;

/** Changes need an authenticated admin with role 'admin'; the name is the audit author. */
export function author(req: FastifyRequest): string {
  const who = adminOf(req);
  if (!who || who.role !== 'admin') {
    throw new StoreError('WAF_ERR_FORBIDDEN', who ? `token "${who.name}" has role ${who.role}; changing rules needs role admin` : 'changing rules needs an admin token');
  }
  return who.name;
}

export interface RuleView {
  id: number;
  name: string;
  family: string;
  paranoia: number;
  severity: string;
  enabled: boolean;
  overridden: boolean;
  tags: string[];
}

/** A signature as it runs in a snapshot: library values with the override applied. */
export function effectiveRule(snap: RuleSnapshot, s: SignatureSpec): RuleView {
  const o: SignatureOverride | undefined = snap.overrides[String(s.id)];
  return {
    id: s.id, name: s.name, family: s.family,
    paranoia: o?.paranoia ?? s.paranoia, severity: o?.severity ?? s.severity,
    enabled: o?.enabled !== false, overridden: !!o, tags: s.tags,
  };
}

const idParam = z.object({ id: z.coerce.number().int().positive() });
const listQuery = z.object({ family: z.string().optional(), pl: z.coerce.number().int().min(1).max(4).optional() });
const setBody = z.object({ paranoia: z.number().int().optional(), severity: z.string().optional() }).strict();
const libraryBody = z.object({ signatures: z.array(z.record(z.string(), z.unknown())).min(1) });
const rollbackBody = z.object({ version: z.number().int().positive().optional() }).strict();
const exclusionBody = z.object({
  rule: z.union([z.string(), z.number()]).transform(String),
  site: z.string().optional(),
  pathPrefix: z.string().optional(),
  pathRegex: z.string().optional(),
  target: z.string().optional(),
  cidrs: z.array(z.string()).optional(),
  note: z.string().max(500).optional(),
}).strict();
const modeBody = z.object({ mode: z.string() }).strict();

/** Schema-check every pushed signature (the same schema as signatures/*.yaml); refuses naming each bad entry. */
function pushedSignatures(list: Array<Record<string, unknown>>): SignatureSpec[] {
  const problems: string[] = [];
  const specs = list.map((entry, i) => {
    const r = signatureSchema.safeParse(entry);
    if (!r.success) problems.push(`entry ${i + 1}${typeof entry.id === 'number' ? ` (id ${entry.id})` : ''}: ${formatZodError(r.error)}`);
    return r.data as SignatureSpec;
  });
  if (problems.length) throw new StoreError('WAF_ERR_SIGNATURE_INVALID', `refused, nothing changed: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`, problems);
  return specs;
}

export function parse<T>(schema: z.ZodType<T>, value: unknown, code: StoreError['code'] = 'WAF_ERR_RULE_INVALID'): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new StoreError(code, `bad request: ${problems.join('; ')}`, problems);
  }
  return r.data;
}

/** Error answers of the store's admin routes: a StoreError as {error, message, details} with its status. */
export function storeErrorHandler(err: Error & { statusCode?: number }, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof StoreError) {
    req.log.warn({ code: err.code, admin: adminOf(req)?.name }, `rules admin: ${err.message}`);
    return reply.code(err.status).send({ error: err.code, message: err.message, details: err.details });
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  req.log[status >= 500 ? 'error' : 'warn']({ err }, 'rules admin request failed');
  return reply.code(status).send({ error: status >= 500 ? 'WAF_ERR_INTERNAL' : 'WAF_ERR_BAD_REQUEST', message: status >= 500 ? 'internal error' : err.message });
}

/** Fastify plugin; register on the admin listener (e.g. with prefix /api) after the auth plugin. */
export async function rulesRoutes(app: FastifyInstance, opts: RulesRoutesOptions): Promise<void> {
  const { rules } = opts;
  const snap = () => rules.live.live().snapshot;

  app.setErrorHandler(storeErrorHandler);

  app.get('/rules', async (req) => {
    const q = parse(listQuery, req.query);
    const s = snap();
    const list = s.signatures.map((sig) => effectiveRule(s, sig))
      .filter((r) => (!q.family || r.family === q.family) && (!q.pl || r.paranoia === q.pl))
      .sort((a, b) => a.id - b.id);
    return { version: s.version, count: list.length, rules: list };
  });

  app.get('/rules/status', async () => rules.live.status());

  app.get('/rules/history', async (req) => {
    const { limit } = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) }), req.query);
    return { history: await rules.store.history(limit) };
  });

  app.get('/rules/versions', async () => ({ live: rules.live.live().version, kept: await rules.store.versions() }));

  app.get('/rules/:id', async (req) => {
    const { id } = parse(idParam, req.params);
    const s = snap();
    const sig = s.signatures.find((x) => x.id === id);
    if (!sig) throw new StoreError('WAF_ERR_RULE_UNKNOWN', `no signature with id ${id} in the live library`);
    return { version: s.version, rule: effectiveRule(s, sig), override: s.overrides[String(id)] ?? null, spec: sig,
      exclusions: s.exclusions.filter((e) => e.rule === String(id) || e.rule === `family:${sig.family}` || sig.tags.some((t) => e.rule === `tag:${t}`) || e.rule === '*') };
  });

  app.post('/rules/:id/disable', async (req) => {
    const { id } = parse(idParam, req.params);
    return rules.apply((s) => setEnabled(s, id, false), author(req));
  });

  app.post('/rules/:id/enable', async (req) => {
    const { id } = parse(idParam, req.params);
    return rules.apply((s) => setEnabled(s, id, true), author(req));
  });

  app.patch('/rules/:id', async (req) => {
    const { id } = parse(idParam, req.params);
    const body = parse(setBody, req.body);
    return rules.apply((s) => setRule(s, id, body), author(req));
  });

  const bodyLimit = opts.pushLimitBytes ?? 16 * 1024 * 1024;
  app.put('/rules/library', { bodyLimit }, async (req) => {
    const who = author(req);
    const { signatures } = parse(libraryBody, req.body, 'WAF_ERR_SIGNATURE_INVALID');
    const specs = pushedSignatures(signatures);
    return rules.apply((s) => pushSignatures(s, specs), who);
  });

  // Read-only despite POST (the library travels in the body): viewers may diff.
  app.post('/rules/library/diff', { bodyLimit, config: { role: 'viewer' } }, async (req) => {
    const { signatures } = parse(libraryBody, req.body, 'WAF_ERR_SIGNATURE_INVALID');
    const s = snap();
    return { version: s.version, diff: diffSignatures(s.signatures, pushedSignatures(signatures)) };
  });

  app.post('/rules/rollback', async (req) => {
    const who = author(req);
    const { version } = parse(rollbackBody, req.body);
    return rules.rollback(who, version);
  });

  app.get('/exclusions', async () => ({ version: snap().version, exclusions: snap().exclusions }));

  app.post('/exclusions', async (req, reply) => {
    const who = author(req);
    const body = parse(exclusionBody, req.body, 'WAF_ERR_EXCLUSION_INVALID');
    const r = await rules.apply((s) => addExclusion(s, body), who);
    return reply.code(201).send(r);
  });

  app.delete('/exclusions/:id', async (req) => {
    const who = author(req);
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'WAF_ERR_EXCLUSION_INVALID');
    return rules.apply((s) => removeExclusion(s, id), who);
  });

  app.get('/modes', async () => ({ version: snap().version, modes: snap().siteModes }));

  app.put('/modes/:site', async (req) => {
    const who = author(req);
    const { site } = parse(z.object({ site: z.string() }), req.params, 'WAF_ERR_MODE_INVALID');
    const { mode } = parse(modeBody, req.body, 'WAF_ERR_MODE_INVALID');
    return rules.apply((s) => setMode(s, site, mode), who);
  });
}
