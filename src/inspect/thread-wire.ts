/**
 * What the request thread and the inspection thread send each other (see inspection-thread.ts), as plain data that
 * `postMessage` copies cheaply: a request as one flat tuple (Node's `rawHeaders` as they are, the body as bytes of its
 * own), a clean verdict as `null` (the request thread knows everything in it).
 */
import type { RulesetSource, InspectContext } from './engine.ts';
import type { Mode, ParanoiaLevel, RequestInput, Verdict } from '../types.ts';

/**
 * One request to inspect: method, url, HTTP version, raw header list (name, value, name, value …), body (bytes of its
 * own, or null), body truncated, client IP, site, route, paranoia, threshold, mode.
 */
export type ThreadJob = [
  method: string,
  url: string,
  httpVersion: string,
  rawHeaders: string[],
  body: Uint8Array | null,
  bodyTruncated: boolean,
  clientIp: string,
  site: string,
  route: string,
  paranoia: ParanoiaLevel,
  threshold: number,
  mode: Mode,
];

/** Request thread → inspection thread. */
export type ToThread =
  /** Compile this ruleset and answer `ready` (or `refused`); batches name it by `key`. */
  | { t: 'ruleset'; key: number; source: RulesetSource }
  /** Inspect these requests with ruleset `key`; rulesets with a smaller key are no longer used. */
  | { t: 'batch'; id: number; key: number; jobs: ThreadJob[] };

/**
 * Inspection thread → request thread. `verdicts[i]`: null for a clean request, a string when the engine threw on it
 * (the message); `ms[i]`: how long its inspection took.
 */
export type FromThread =
  | { t: 'ready'; key: number }
  | { t: 'refused'; key: number; error: string }
  | { t: 'done'; id: number; verdicts: Array<Verdict | string | null>; ms: number[] };

/** The job for a request; the body is copied into bytes of its own, which the caller transfers (see `transferOf`). */
export function jobOf(input: Omit<RequestInput, 'headers'>, rawHeaders: string[], ctx: InspectContext): ThreadJob {
  const b = input.body;
  let body: Uint8Array | null = null;
  if (b !== null && b.byteLength > 0) {
    // A Buffer is often a view of a larger one (Node's pool, the socket's read): a copy of its own bytes is sent, not
    // what it shares memory with.
    body = new Uint8Array(b.byteLength);
    body.set(b);
  } else if (b !== null) body = new Uint8Array(0);
  return [input.method, input.url, input.httpVersion, rawHeaders, body, input.bodyTruncated === true, ctx.clientIp ?? '', ctx.site ?? '', input.route ?? '', ctx.paranoia, ctx.threshold, ctx.mode];
}

/** The buffers of a batch's bodies, handed over rather than copied again. */
export function transferOf(jobs: ThreadJob[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const j of jobs) if (j[4] !== null && j[4].byteLength > 0) out.push(j[4].buffer as ArrayBuffer);
  return out;
}

/** In the inspection thread: the engine's input and context for a job. */
export function inputOf(job: ThreadJob): { input: RequestInput; ctx: InspectContext } {
  const [method, url, httpVersion, raw, body, bodyTruncated, clientIp, site, route, paranoia, threshold, mode] = job;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  return {
    input: { method, url, httpVersion, headers, body: body === null ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength), bodyTruncated, clientIp, site, route },
    ctx: { paranoia, threshold, mode, site, clientIp },
  };
}

/** What goes back for a verdict: null when it is clean (no score, match or finding, allowed). */
export function packVerdict(v: Verdict): Verdict | null {
  return v.action === 'allow' && v.score === 0 && v.matches.length === 0 && v.findings.length === 0 ? null : v;
}

/** The verdict a null stands for: what the engine answers for a clean request in this context. */
export function cleanVerdict(ctx: InspectContext, rulesetVersion: number): Verdict {
  return { action: 'allow', score: 0, matches: [], findings: [], mode: ctx.mode, threshold: ctx.threshold, paranoia: ctx.paranoia, rulesetVersion };
}
