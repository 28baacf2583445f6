/** Shared data shapes: the contracts between the proxy, the engine, the store, rate limits and the event log. */

export type Mode = 'block' | 'detect' | 'off';
export type Severity = 'critical' | 'error' | 'warning' | 'notice';
export type ParanoiaLevel = 1 | 2 | 3 | 4;

/** Anomaly points per severity (CRS convention). */
export const SEVERITY_SCORE: Record<Severity, number> = { critical: 5, error: 4, warning: 3, notice: 2 };

// ---------------------------------------------------------------------------
// What the engine inspects
// ---------------------------------------------------------------------------

/** A request as the engine receives it: no Fastify types, so the engine is testable without HTTP. */
export interface RequestInput {
  method: string;
  /** Raw request target exactly as received (path + '?' + query), not decoded. */
  url: string;
  httpVersion: string;
  /** Raw header pairs in arrival order, names as sent (use lowercase for lookups). */
  headers: Array<[string, string]>;
  /** Body bytes as read (bounded by the inspection limit), or null when there is no body. */
  body: Buffer | null;
  /** True when the body was longer than the inspection limit and only `body` was inspected. */
  bodyTruncated?: boolean;
  clientIp?: string;
  site?: string;
  route?: string;
}

/**
 * One named thing to inspect. `collection` is the family name signatures select
 * (`args`, `headers`, `cookies`, `json`, ...); `key` is the member (`q`, `user-agent`, `$.a.b`).
 * `name` is `collection:key` (or just `collection` for singletons like `path`).
 */
export interface Target {
  collection: string;
  key: string;
  name: string;
  value: string;
}

/** A structural problem found while building the view (bad multipart, JSON that does not parse, ...). */
export interface Finding {
  code: string;
  message: string;
  target?: string;
}

// ---------------------------------------------------------------------------
// Signatures (the YAML format under signatures/)
// ---------------------------------------------------------------------------

/** A small HTTP request used as a signature example. A plain string is shorthand for `GET <string>`. */
export type ExampleRequest =
  | string
  | { method?: string; uri: string; headers?: Record<string, string>; body?: string };

export interface SignatureSpec {
  id: number;
  name: string;
  family: string;
  paranoia: ParanoiaLevel;
  severity: Severity;
  /** Target selectors: `args`, `args:q`, `headers:user-agent`, `!args:csrfmiddlewaretoken`, ... */
  targets: string[];
  /** Ordered transform names applied to every target value before the operator. */
  transforms: string[];
  /** Operator name from the operator registry (`rx`, `pm`, `contains`, `detect_sqli`, `detect_xss`, `gt`, ...). */
  operator: string;
  /** Operator argument: regex source, phrase list, number, CIDR list ... */
  pattern?: string | string[] | number;
  tags: string[];
  description?: string;
  examples: { match: ExampleRequest[]; pass: ExampleRequest[] };
}

/** Per-signature change layered over the library (from the store). */
export interface SignatureOverride {
  enabled?: boolean;
  paranoia?: ParanoiaLevel;
  severity?: Severity;
}

/**
 * Remove a signature (or every signature of a family or tag) from evaluation, optionally
 * only for a site, a path prefix or regex, and/or one target. With `cidr`, allow-lists clients.
 */
export interface Exclusion {
  id: string;
  /** A signature id, `family:NAME`, `tag:NAME`, or `*` for every signature. */
  rule: string;
  site?: string;
  pathPrefix?: string;
  pathRegex?: string;
  /** Target selector such as `args:comment`, `cookies:session`, `headers:user-agent`. */
  target?: string;
  /** Client CIDRs that skip the rule(s) entirely. */
  cidrs?: string[];
  note?: string;
}

// ---------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------

export interface Match {
  id: number;
  name: string;
  family: string;
  severity: Severity;
  paranoia: ParanoiaLevel;
  score: number;
  /** Target name, e.g. `args:q`. */
  target: string;
  /** The transformed value around the match, capped in length. */
  value: string;
  /** The matched part. */
  matched: string;
}

export type Action = 'allow' | 'block' | 'detect' | 'rate-limit' | 'ban';

export interface Verdict {
  action: Action;
  mode: Mode;
  score: number;
  threshold: number;
  paranoia: ParanoiaLevel;
  matches: Match[];
  findings: Finding[];
  rulesetVersion: number;
}

// ---------------------------------------------------------------------------
// Rate limits (issue 6)
// ---------------------------------------------------------------------------

export interface RatePolicy {
  name: string;
  site?: string;
  pathPrefix?: string;
  pathRegex?: string;
  methods?: string[];
  /** What the counter is keyed by. */
  key: 'ip' | { header: string } | { field: string; withIp?: boolean } | { cookie: string };
  points: number;
  durationSec: number;
  burst?: number;
  blockSec?: number;
}

// ---------------------------------------------------------------------------
// Events (issue 7)
// ---------------------------------------------------------------------------

export interface WafEvent {
  id: string;
  time: string;
  site: string;
  route?: string;
  clientIp: string;
  peer: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  matches: Match[];
  score: number;
  paranoia: number;
  mode: Mode;
  action: Action;
  policy?: string;
  rulesetVersion: number;
  backendStatus?: number;
  /** Structural findings of the request view (bad multipart, unparsable JSON, ...). */
  findings?: Finding[];
}
