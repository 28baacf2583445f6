/**
 * Fastify hooks for inspection: request → RequestInput → live ruleset → verdict (in the inspection thread, or in the
 * event loop without one); block answers 403, detect logs and forwards.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import { WafError } from '../errors.ts';
import { buildEvent } from '../log/event.ts';
import { renderErrorPage } from '../pages.ts';
import type { ServicePlugin, Services } from '../services.ts';
import { readSignatureFiles } from '../signatures/loader.ts';
import type { Mode, RequestInput, Verdict } from '../types.ts';
import { compileRuleset, type CompiledRuleset, type InspectContext } from './engine.ts';
import type { InspectionLanes } from './inspection-lanes.ts';
import { jobOf } from './thread-wire.ts';
import { compileSignature } from './signature.ts';
import { turnBatch } from './turn-batch.ts';

/** Raw header pairs in arrival order from Node's flat `rawHeaders`. */
export function headerPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** The engine's view of a request as the proxy read it (body = the inspected part). */
export function requestInput(request: FastifyRequest): RequestInput {
  const raw = request.raw;
  const waf = request.waf;
  return {
    method: raw.method ?? 'GET',
    url: raw.url ?? '/',
    httpVersion: raw.httpVersion,
    headers: headerPairs(raw.rawHeaders),
    body: waf.inspectBody,
    bodyTruncated: waf.bodyTruncated,
    clientIp: waf.clientIp,
    site: waf.site,
    route: waf.route,
  };
}

/** Without the store's live holder: the local library (signatures that compile), config exclusions. */
function localRuleset(services: Services): CompiledRuleset {
  const insp = services.config.inspection as Record<string, unknown>;
  const dir = typeof insp.signatures === 'string' && insp.signatures ? insp.signatures : 'signatures';
  const read = readSignatureFiles(dir);
  for (const p of read.problems) services.logger.error({ part: 'inspect', file: p.file, id: p.id }, `signature left out: ${p.message}`);
  const usable = read.signatures.filter((s) => {
    try {
      compileSignature(s);
      return true;
    } catch (err) {
      services.logger.error({ part: 'inspect', id: s.id }, `signature ${s.id} left out: ${(err as Error).message}`);
      return false;
    }
  });
  const exclusions = Array.isArray(insp.exclusions) ? (insp.exclusions as Parameters<typeof compileRuleset>[1]['exclusions']) : [];
  return compileRuleset(usable, { version: 0, exclusions });
}

function decide(request: FastifyRequest, reply: FastifyReply, services: Services, verdict: Verdict): FastifyReply | undefined {
  const waf = request.waf;
  if (verdict.matches.length === 0 && verdict.action === 'allow') return undefined;
  const recorded = verdict.action === 'block' || verdict.action === 'detect';
  if (recorded) {
    const event = buildEvent(
      { site: waf.site, route: waf.route, clientIp: waf.clientIp, peer: waf.peer, method: request.method, url: request.raw.url ?? '/', headers: request.raw.rawHeaders.length ? headerPairs(request.raw.rawHeaders) : {} },
      { action: verdict.action, mode: verdict.mode, verdict, paranoia: verdict.paranoia, rulesetVersion: verdict.rulesetVersion },
    );
    waf.eventId = event.id;
    services.events?.record(event);
  }
  const summary = {
    eventId: waf.eventId, action: verdict.action, score: verdict.score, threshold: verdict.threshold,
    signatures: verdict.matches.map((m) => `${m.id}@${m.target}`), clientIp: waf.clientIp, site: waf.site,
  };
  if (verdict.action === 'block') {
    request.log.warn(summary, 'request blocked');
    const page = renderErrorPage(403, { requestId: request.id, eventId: waf.eventId, code: 'WAF_ERR_BLOCKED' }, request.headers.accept);
    return reply.code(403).header('content-type', page.contentType).header('x-request-id', request.id).header('cache-control', 'no-store').send(page.body);
  }
  if (verdict.action === 'detect') request.log.warn(summary, 'attack detected (detect mode: forwarded)');
  else request.log.info(summary, 'signatures matched below the threshold');
  return undefined;
}

/** The inspection plugin: one preHandler hook after the body is read. */
export const inspectionPlugin: ServicePlugin = async (app, { services }) => {
  const rules = services.rules as ({ current(): unknown; modeFor?(site: string): Mode | undefined } | undefined);
  let local: CompiledRuleset | null = null;
  if (!rules) local = localRuleset(services);
  const current = (): CompiledRuleset => (rules ? (rules.current() as CompiledRuleset) : (local as CompiledRuleset));

  /** What a verdict leads to: recorded, and answered 403 (block), 413 (too many arguments) or forwarded. */
  const settle = (request: FastifyRequest, reply: FastifyReply, verdict: Verdict, ms: number): FastifyReply | undefined => {
    const waf = request.waf;
    waf.verdict = verdict;
    waf.inspectionMs = ms;
    // More arguments than the view reads: the rest were not inspected. Under the reject policy (the default) nothing
    // uninspected is forwarded, as for a body over the inspection limit; `partial` forwards it, flagged. An attack
    // found in the inspected part is still answered as a block (403, with its event).
    if (verdict.action !== 'block' && waf.resolved.bodyPolicy === 'reject' && verdict.findings.some((f) => f.code === 'args_too_many')) {
      request.log.warn({ clientIp: waf.clientIp, site: waf.site, signatures: verdict.matches.map((m) => m.id) }, 'request rejected: more arguments than are inspected');
      throw new WafError('WAF_ERR_TOO_MANY_ARGS');
    }
    return decide(request, reply, services, verdict);
  };

  const contextOf = (request: FastifyRequest, mode: Mode): InspectContext => {
    const waf = request.waf;
    return { paranoia: waf.paranoia, threshold: waf.threshold, mode, site: waf.site, clientIp: waf.clientIp };
  };

  const inspectOne = (request: FastifyRequest, reply: FastifyReply, mode: Mode): FastifyReply | undefined => {
    let verdict: Verdict;
    const t0 = performance.now();
    try {
      verdict = current().inspect(requestInput(request), contextOf(request, mode));
    } catch (err) {
      // Fail closed: an engine failure must not let the request through uninspected.
      request.log.error({ err }, 'inspection failed');
      throw new WafError('WAF_ERR_INTERNAL', undefined, 'inspection failed');
    }
    return settle(request, reply, verdict, performance.now() - t0);
  };

  const thread = services.inspectionThreads;
  // The thread compiles the ruleset it starts with before the first request (later versions: store/wire.ts); if it
  // cannot now, the first batch that needs it has it compiled.
  if (thread) {
    try {
      await thread.prepare(current());
    } catch (err) {
      services.logger.warn({ part: 'inspect', err }, 'inspection thread: the live ruleset was not compiled ahead (it will be on first use)');
    }
  }

  /** In the inspection thread: the request as a job, its verdict back with the other requests of its turn. */
  const inspectInThread = (t: InspectionLanes, request: FastifyRequest, reply: FastifyReply, mode: Mode, done: (err?: Error) => void): void => {
    const raw = request.raw;
    const waf = request.waf;
    const input = { method: raw.method ?? 'GET', url: raw.url ?? '/', httpVersion: raw.httpVersion, body: waf.inspectBody, bodyTruncated: waf.bodyTruncated, route: waf.route };
    t.inspect(current(), jobOf(input, raw.rawHeaders, contextOf(request, mode)), (err, verdict, ms) => {
      if (err !== undefined) {
        // Fail closed: nothing is forwarded uninspected (500, or 503 when too many requests wait).
        if (err instanceof WafError && err.code === 'WAF_ERR_OVERLOADED') request.log.warn({ err }, 'inspection refused: too many requests waiting');
        else request.log.error({ err }, 'inspection failed');
        done(err instanceof WafError ? err : new WafError('WAF_ERR_INTERNAL', undefined, 'inspection failed'));
        return;
      }
      let answered: FastifyReply | undefined;
      try {
        answered = settle(request, reply, verdict as Verdict, ms);
      } catch (e) {
        done(e as Error);
        return;
      }
      if (answered === undefined) done();
    });
  };

  // The requests of one event-loop turn are inspected back to back (see turn-batch.ts), here or in the inspection
  // thread. A callback-style hook: no promise per request.
  const batch = turnBatch();
  app.addHook('preHandler', (request, reply, done) => {
    const waf = request.waf;
    const mode: Mode | undefined = !waf || reply.sent ? undefined : (rules?.modeFor?.(waf.site) ?? waf.mode);
    if (mode === undefined || mode === 'off') {
      done();
      return;
    }
    if (thread) {
      inspectInThread(thread, request, reply, mode, done);
      return;
    }
    batch.add(
      () => inspectOne(request, reply, mode),
      (err, answered) => {
        if (err !== undefined) done(err as Error);
        // Answered (a block): Fastify goes no further. Otherwise on to the handler (forwarding).
        else if (answered === undefined) done();
      },
    );
  });
};
