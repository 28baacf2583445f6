/** Builds a WafEvent from what the proxy knows about a request and the decision taken; one place mints event ids. */
import { randomBytes } from 'node:crypto';
import type { Action, Match, Mode, Verdict, WafEvent } from '../types.ts';

/**
 * A short, unique, URL-safe event id: 8 base36 chars of milliseconds (sortable by time) + 8 random base64url chars.
 * This is the id shown to the client on the 403 page and searched in the admin API.
 */
export function newEventId(now = Date.now()): string {
  return now.toString(36).padStart(9, '0') + randomBytes(6).toString('base64url');
}

/** An id this module could have minted (guards lookups and path parameters). */
export function isEventId(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-z]{9}[A-Za-z0-9_-]{8}$/.test(s);
}

/** Headers kept in an event by default (values are redacted later where sensitive). */
export const DEFAULT_EVENT_HEADERS = [
  'host', 'user-agent', 'referer', 'origin', 'content-type', 'content-length', 'accept', 'accept-language',
  'x-forwarded-for', 'x-real-ip', 'authorization', 'cookie', 'x-requested-with',
];

export const LIMITS = { url: 2048, header: 512, value: 256, matched: 128, matches: 50 };

/** What the event builder needs about a request (a subset of request.waf + the raw request). */
export interface RequestFacts {
  site: string;
  route?: string;
  clientIp: string;
  peer: string;
  method: string;
  url: string;
  /** Raw headers: node's rawHeaders-style pairs, or a record. */
  headers: Array<[string, string]> | Record<string, string | string[] | undefined>;
}

export interface DecisionFacts {
  action: Action;
  mode: Mode;
  verdict?: Verdict;
  /** Rate-limit policy name for rate-limit / ban decisions. */
  policy?: string;
  backendStatus?: number;
  rulesetVersion?: number;
  paranoia?: number;
  id?: string;
  time?: Date;
}

export function cap(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function pickHeaders(h: RequestFacts['headers'], keep: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string) => {
    const k = name.toLowerCase();
    if (!keep.has(k)) return;
    out[k] = cap(out[k] === undefined ? value : `${out[k]}, ${value}`, LIMITS.header);
  };
  if (Array.isArray(h)) for (const [n, v] of h) put(n, v);
  else for (const [n, v] of Object.entries(h)) if (v !== undefined) put(n, Array.isArray(v) ? v.join(', ') : v);
  return out;
}

function capMatch(m: Match): Match {
  return { ...m, value: cap(m.value, LIMITS.value), matched: cap(m.matched, LIMITS.matched) };
}

/** Build the (not yet redacted) event. Pure: the caller records it through services.events. */
export function buildEvent(req: RequestFacts, d: DecisionFacts, headerNames: readonly string[] = DEFAULT_EVENT_HEADERS): WafEvent {
  const v = d.verdict;
  const e: WafEvent = {
    id: d.id ?? newEventId(),
    time: (d.time ?? new Date()).toISOString(),
    site: req.site,
    route: req.route || undefined,
    clientIp: req.clientIp,
    peer: req.peer,
    method: req.method,
    url: cap(req.url, LIMITS.url),
    headers: pickHeaders(req.headers, new Set(headerNames.map((n) => n.toLowerCase()))),
    matches: (v?.matches ?? []).slice(0, LIMITS.matches).map(capMatch),
    score: v?.score ?? 0,
    paranoia: v?.paranoia ?? d.paranoia ?? 1,
    mode: d.mode,
    action: d.action,
    rulesetVersion: v?.rulesetVersion ?? d.rulesetVersion ?? 0,
  };
  if (d.policy) e.policy = d.policy;
  if (d.backendStatus !== undefined) e.backendStatus = d.backendStatus;
  if (v?.findings?.length) e.findings = v.findings.slice(0, LIMITS.matches).map((f) => ({ ...f, message: cap(f.message, LIMITS.value) }));
  return e;
}
