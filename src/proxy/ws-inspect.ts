/**
 * WebSocket per-message inspection (issue 8, off by default): each complete client→server text message is inspected
 * with the live ruleset (the same signatures, paranoia, threshold, site mode and exclusions as requests). JSON messages
 * are read like a JSON body (every leaf is an `args` target); other text is one target, `args:ws_message`. An attack
 * in block mode closes the connection with 1008 and records a blocked event; in detect mode it is recorded and forwarded.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CompiledRuleset } from '../inspect/engine.ts';
import { headerPairs } from '../inspect/plugin.ts';
import { buildRequestView, type RequestView } from '../inspect/request-view.ts';
import { buildEvent } from '../log/event.ts';
import type { Services } from '../services.ts';
import type { Mode, Target } from '../types.ts';
import type { MessageDecision } from './ws-frames.ts';

export const websocketInspectionSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Largest text message inspected (bytes). */
  maxBytes: z.number().int().positive().max(16 * 1024 * 1024).default(64 * 1024),
  /** A larger text message: close with 1009 (default) or forward it uninspected (logged). */
  oversize: z.enum(['close', 'pass']).default('close'),
});
export type WebsocketInspectionConfig = z.output<typeof websocketInspectionSchema>;

/** Collections a message contributes (what a body would); request-line and header targets were inspected at the handshake. */
const BODY_COLLECTIONS = new Set(['args', 'args_post', 'args_names', 'json', 'body_raw', 'findings']);

/** The engine's view of one message. */
export function messageView(text: string): RequestView {
  const t = text.trimStart();
  let targets: Target[];
  let findings: RequestView['findings'] = [];
  if ((t.startsWith('{') || t.startsWith('[')) && isJson(text)) {
    const v = buildRequestView({ method: 'POST', url: '/', httpVersion: '1.1', headers: [['content-type', 'application/json']], body: Buffer.from(text, 'utf8') });
    targets = v.targets.filter((x) => BODY_COLLECTIONS.has(x.collection));
    findings = v.findings;
  } else {
    targets = [
      { collection: 'args', key: 'ws_message', name: 'args:ws_message', value: text },
      { collection: 'args_post', key: 'ws_message', name: 'args_post:ws_message', value: text },
      { collection: 'body_raw', key: '', name: 'body_raw', value: text },
    ];
  }
  const byCollection = new Map<string, Target[]>();
  for (const x of targets) {
    const list = byCollection.get(x.collection);
    if (list) list.push(x);
    else byCollection.set(x.collection, [x]);
  }
  return { targets, findings, byCollection };
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

type Rules = { current(): unknown; modeFor?(site: string): Mode | undefined };

/** A per-connection checker for the tunnel, or null when message inspection is off or no ruleset is available. */
export function messageChecker(cfg: WebsocketInspectionConfig, services: Pick<Services, 'rules' | 'events'>): ((request: FastifyRequest) => (text: string) => MessageDecision) | null {
  const rules = services.rules as Rules | undefined;
  if (!cfg.enabled || !rules) return null;
  return (request) => {
    const waf = request.waf;
    let messages = 0;
    return (text) => {
      messages++;
      const mode: Mode = rules.modeFor?.(waf.site) ?? waf.mode;
      if (mode === 'off') return 'forward';
      const ruleset = rules.current() as CompiledRuleset;
      const verdict = ruleset.inspectView(messageView(text), { paranoia: waf.paranoia, threshold: waf.threshold, mode, site: waf.site, clientIp: waf.clientIp });
      if (verdict.action !== 'block' && verdict.action !== 'detect') return 'forward';
      const event = buildEvent(
        { site: waf.site, route: waf.route, clientIp: waf.clientIp, peer: waf.peer, method: request.method, url: request.raw.url ?? '/', headers: headerPairs(request.raw.rawHeaders) },
        { action: verdict.action, mode: verdict.mode, verdict, paranoia: verdict.paranoia, rulesetVersion: verdict.rulesetVersion },
      );
      event.findings = [...(event.findings ?? []), { code: 'websocket_message', message: `message ${messages} of the connection (${Buffer.byteLength(text)} bytes)` }];
      services.events?.record(event);
      const summary = { part: 'websocket', eventId: event.id, action: verdict.action, score: verdict.score, signatures: verdict.matches.map((m) => `${m.id}@${m.target}`), clientIp: waf.clientIp, site: waf.site };
      if (verdict.action === 'block') {
        request.log.warn(summary, 'websocket message blocked: connection closed (1008)');
        return { close: 1008, reason: `blocked, event ${event.id}` };
      }
      request.log.warn(summary, 'websocket message attack detected (detect mode: forwarded)');
      return 'forward';
    };
  };
}
