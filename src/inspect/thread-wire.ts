/**
 * What the request thread and the inspection thread send each other (see inspection-thread.ts), as plain data that
 * `postMessage` copies cheaply: a request as one flat tuple (Node's `rawHeaders` as they are, the body as bytes of its
 * own, one buffer per batch), a clean verdict as `null` (the request thread knows everything in it).
 */
import type { RulesetSource, InspectContext } from './engine.ts';
import type { Mode, ParanoiaLevel, RequestInput, Verdict } from '../types.ts';

/**
 * One request to inspect: its strings in one (method, target, HTTP version, client IP, site, route, then the raw header
 * list: name, value, name, value …, joined by NUL, which Node's parser refuses in a request line and in headers), the
 * raw header list's length, the body (or null; sent as a part of the batch's buffer, see `packBodies`), body truncated,
 * paranoia, threshold, mode. One string per request: the message's serialisation copies it in one go, where a list of
 * 20-30 strings cost about three times as much per request on the request thread (CPU profile of the proxy bench).
 */
export type ThreadJob = [
  text: string,
  rawHeaderCount: number,
  body: Uint8Array | null,
  bodyTruncated: boolean,
  paranoia: ParanoiaLevel,
  threshold: number,
  mode: Mode,
];

/** Fields of a job's text before its header list. */
const TEXT_FIELDS = 6;
const SEP = '\u0000';

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
  /** `held`: compiled rulesets the thread keeps now, this one included (older ones go when a batch names a newer one). */
  | { t: 'ready'; key: number; held: number }
  | { t: 'refused'; key: number; error: string }
  | { t: 'done'; id: number; verdicts: Array<Verdict | string | null>; ms: number[] };

/** The job for a request. Its body is the caller's own Buffer until `packBodies` copies it for sending. */
export function jobOf(input: Omit<RequestInput, 'headers'>, rawHeaders: string[], ctx: InspectContext): ThreadJob {
  let text = input.method + SEP + input.url + SEP + input.httpVersion + SEP + (ctx.clientIp ?? '') + SEP + (ctx.site ?? '') + SEP + (input.route ?? '');
  if (rawHeaders.length > 0) text += SEP + rawHeaders.join(SEP);
  return [text, rawHeaders.length, input.body, input.bodyTruncated === true, ctx.paranoia, ctx.threshold, ctx.mode];
}

/**
 * Copies the bodies of a batch into one buffer of their own, each job then holding its part (the caller keeps its
 * Buffer: it forwards those bytes after). Returns the buffer to transfer with the message (one hand-over per batch,
 * not a copy per body), or null when no job has a body. A Buffer is often a view of a larger one (Node's pool, the
 * socket's read): only its own bytes are copied, never what it shares memory with.
 */
export function packBodies(jobs: ThreadJob[]): ArrayBuffer | null {
  let total = 0;
  let any = false;
  for (const j of jobs) {
    const b = j[2];
    if (b !== null) {
      total += b.byteLength;
      any = true;
    }
  }
  if (!any) return null;
  const pack = new Uint8Array(total);
  let at = 0;
  for (const j of jobs) {
    const b = j[2];
    if (b === null) continue;
    pack.set(b, at);
    j[2] = pack.subarray(at, at + b.byteLength);
    at += b.byteLength;
  }
  return pack.buffer;
}

/**
 * In the inspection thread: the engine's input and context for a job. Throws when the text does not hold the fields
 * its header count says (a NUL inside a field): the request then fails closed rather than be read another way.
 */
export function inputOf(job: ThreadJob): { input: RequestInput; ctx: InspectContext } {
  const [text, count, body, bodyTruncated, paranoia, threshold, mode] = job;
  const f = text.split(SEP);
  if (f.length !== TEXT_FIELDS + count || count % 2 !== 0) throw new Error(`a request's fields did not cross intact (${f.length} fields for ${count} header items)`);
  const headers: Array<[string, string]> = [];
  for (let i = TEXT_FIELDS; i + 1 < f.length; i += 2) headers.push([f[i], f[i + 1]]);
  const [method, url, httpVersion, ip, siteName, route] = f;
  // Sent as '' when the context had none.
  const clientIp = ip === '' ? undefined : ip;
  const site = siteName === '' ? undefined : siteName;
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
