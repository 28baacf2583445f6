/** Admin API for events: search, one by id, top signatures/IPs/paths, timeline, stats, and "allow this" exclusions built from an event. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { z } from 'zod';
import type { EventLog } from '../log/event-log.ts';
import { isEventId } from '../log/event.ts';
import { parseTime, pathOf, type EventFilter } from '../log/query.ts';
import { decodePath } from '../inspect/path.ts';
import type { Exclusion, WafEvent } from '../types.ts';

export interface EventsRoutesOptions {
  events: EventLog;
}

const timeStr = z.string().max(40).transform((s, ctx) => {
  const t = parseTime(s);
  if (t === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration back from now ("15m", "1h", "7d"), an ISO date or epoch ms' });
    return z.NEVER;
  }
  return t;
});

const filterQuery = z.object({
  since: timeStr.optional(),
  until: timeStr.optional(),
  site: z.string().max(64).optional(),
  path: z.string().max(2048).optional(),
  ip: z.string().max(64).optional(),
  rule: z.coerce.number().int().positive().optional(),
  family: z.string().max(64).optional(),
  action: z.enum(['allow', 'block', 'detect', 'rate-limit', 'ban']).optional(),
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const topQuery = filterQuery.extend({ kind: z.enum(['signatures', 'ips', 'paths']).default('signatures'), n: z.coerce.number().int().min(1).max(100).default(10) });
const timelineQuery = filterQuery.extend({ buckets: z.coerce.number().int().min(1).max(500).default(60) });

const exclusionBody = z.strictObject({
  /** Which match of the event to allow (index into event.matches); default: every match's signature, one exclusion each. */
  match: z.number().int().min(0).optional(),
  /** Scope of the path: the exact path of the event (default) or a prefix. */
  path: z.enum(['exact', 'prefix', 'any']).default('exact'),
  pathPrefix: z.string().startsWith('/').max(2048).optional(),
  /** Limit to the target the match named (default true). */
  target: z.boolean().default(true),
  /** Only show what would be created. */
  dryRun: z.boolean().default(false),
  note: z.string().max(500).optional(),
});

type BadRequest = { status: number; error: string; message: string; details?: string[] };

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const details = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw Object.assign(new Error(`bad request: ${details.join('; ')}`), { statusCode: 400, code: 'WAF_ERR_BAD_REQUEST', details });
  }
  return r.data;
}

function toFilter(q: z.output<typeof filterQuery>): EventFilter {
  return { since: q.since, until: q.until, site: q.site, path: q.path, ip: q.ip, rule: q.rule, family: q.family, action: q.action, text: q.q };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The exclusions "allow this" would create for an event: signature × path × target (pure; shown before applying). */
export function exclusionsFor(e: WafEvent, opts: { match?: number; path: 'exact' | 'prefix' | 'any'; pathPrefix?: string; target: boolean; note?: string }): Array<Omit<Exclusion, 'id'>> {
  const picked = opts.match !== undefined ? [e.matches[opts.match]].filter(Boolean) : e.matches;
  const seen = new Set<string>();
  const out: Array<Omit<Exclusion, 'id'>> = [];
  // Exclusions match the engine's path: percent-decoded once and normalised (dot segments, slashes).
  const path = decodePath(pathOf(e.url)).path;
  for (const m of picked) {
    const ex: Omit<Exclusion, 'id'> = { rule: String(m.id), site: e.site };
    if (opts.path === 'exact') ex.pathRegex = `^${escapeRegex(path)}$`;
    else if (opts.path === 'prefix') ex.pathPrefix = opts.pathPrefix ?? path;
    if (opts.target && m.target) ex.target = m.target;
    ex.note = opts.note ?? `allowed from event ${e.id} (${m.name})`;
    const key = JSON.stringify([ex.rule, ex.pathRegex, ex.pathPrefix, ex.target]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ex);
  }
  return out;
}

export async function eventsRoutes(app: FastifyInstance, opts: EventsRoutesOptions): Promise<void> {
  const { events } = opts;

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; details?: string[] }, req: FastifyRequest, reply: FastifyReply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const body: BadRequest = { status, error: status >= 500 ? 'WAF_ERR_INTERNAL' : err.code?.startsWith('WAF_ERR') ? err.code : 'WAF_ERR_BAD_REQUEST', message: status >= 500 ? 'internal error' : err.message, details: err.details };
    req.log[status >= 500 ? 'error' : 'info']({ err: status >= 500 ? err : undefined, code: body.error, admin: req.admin?.name }, `events admin: ${err.message}`);
    return reply.code(status).send(body);
  });

  const eventSchema = { type: 'object', additionalProperties: true } as const;

  app.get('/events', { schema: { summary: 'Search events (newest first)', tags: ['events'], querystring: { type: 'object', properties: { since: { type: 'string' }, until: { type: 'string' }, site: { type: 'string' }, path: { type: 'string' }, ip: { type: 'string' }, rule: { type: 'integer' }, family: { type: 'string' }, action: { type: 'string' }, q: { type: 'string' }, limit: { type: 'integer' } } } } }, async (req) => {
    const q = parse(filterQuery, req.query);
    const r = await events.search(toFilter(q), q.limit);
    return { source: r.source, count: r.events.length, events: r.events };
  });

  app.get('/events/top', { schema: { summary: 'Top signatures, client IPs or paths over a window', tags: ['events'] } }, async (req) => {
    const q = parse(topQuery, req.query);
    const r = await events.top(q.kind, toFilter({ ...q, since: q.since ?? Date.now() - 3_600_000 }), q.n);
    return { kind: q.kind, source: r.source, top: r.top };
  });

  app.get('/events/timeline', { schema: { summary: 'Event counts per time bucket and action', tags: ['events'] } }, async (req) => {
    const q = parse(timelineQuery, req.query);
    const until = q.until ?? Date.now();
    const since = q.since ?? until - 3_600_000;
    return events.timeline({ ...toFilter(q), since, until }, q.buckets);
  });

  app.get('/events/stats', { schema: { summary: 'Sink state: recorded, pending for the stream, dropped, stream reachability', tags: ['events'] } }, async () => events.stats());

  const getEvent = async (id: string): Promise<WafEvent> => {
    if (!isEventId(id)) throw Object.assign(new Error(`"${String(id).slice(0, 40)}" is not an event id`), { statusCode: 400, code: 'WAF_ERR_BAD_REQUEST' });
    const e = await events.get(id);
    if (!e) throw Object.assign(new Error(`no event ${id} (it may have aged out)`), { statusCode: 404, code: 'WAF_ERR_EVENT_UNKNOWN' });
    return e;
  };

  app.get('/events/:id', { schema: { summary: 'One event by id', tags: ['events'], params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 200: eventSchema } } }, async (req) => getEvent((req.params as { id: string }).id));

  app.post('/events/:id/exclusion', { schema: { summary: 'Create the exclusion(s) that allow what this event blocked (signature × path × target); dryRun shows them', tags: ['events'] } }, async (req, reply) => {
    const e = await getEvent((req.params as { id: string }).id);
    const b = parse(exclusionBody, req.body);
    if (b.match !== undefined && !e.matches[b.match]) throw Object.assign(new Error(`event ${e.id} has no match #${b.match}`), { statusCode: 400, code: 'WAF_ERR_BAD_REQUEST' });
    const proposed = exclusionsFor(e, b);
    if (!proposed.length) throw Object.assign(new Error(`event ${e.id} names no signature to exclude (action ${e.action})`), { statusCode: 400, code: 'WAF_ERR_BAD_REQUEST' });
    if (b.dryRun) return { dryRun: true, exclusions: proposed };
    if (req.admin?.role !== 'admin') return reply.code(403).send({ error: 'WAF_ERR_FORBIDDEN', message: 'creating an exclusion needs role admin' });
    // The rule store owns exclusions: go through its API route (same validation, audit author and versioning).
    const created: unknown[] = [];
    for (const ex of proposed) {
      const res = await app.inject({ method: 'POST', url: '/api/exclusions', headers: { 'content-type': 'application/json', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) }, payload: ex });
      const body = res.json() as Record<string, unknown>;
      if (res.statusCode === 404 && res.json().message?.toString().includes('Route')) return reply.code(503).send({ error: 'WAF_ERR_STORE_UNAVAILABLE', message: 'the rule store API is not available on this admin listener' });
      if (res.statusCode >= 400) return reply.code(res.statusCode).send({ ...body, created });
      created.push({ exclusion: ex, result: body });
    }
    req.log.info({ admin: req.admin?.name, event: e.id, count: created.length }, 'admin: exclusion created from an event');
    return reply.code(201).send({ created });
  });
}
