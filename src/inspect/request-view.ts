/** The request view: a request turned into named targets (what signatures read) plus structural findings. */

import type { Finding, RequestInput, Target } from '../types.ts';
import { inspectBody, type BodySink } from './body/index.ts';
import { decodePart, partValue } from './body/urlencoded.ts';
import { parseCookieHeader } from './cookies.ts';
import { decodePath } from './path.ts';
import { hasPercentSequence } from './transforms/percent.ts';
import type { HeaderLines } from './header-block-memo.ts';

/**
 * Stable finding codes. Each also appears as a target in the `findings` collection
 * (key and value = the code), so signatures can score them like anything else.
 */
export const FINDING_CODES = {
  url_encoding_invalid: 'a % not followed by two hex digits (kept literally)',
  utf8_invalid: 'percent-decoded bytes are not valid UTF-8',
  multi_encoding: 'a value is still percent-encoded after the one decode a backend does (≥ 2 layers)',
  ctl_chars: 'control characters in a path, argument name, cookie or header',
  args_duplicate: 'an argument name (not ending in []) sent more than once: parameter pollution (Django reads the last, PHP the last, ASP.NET joins)',
  args_too_many: 'more arguments than the view reads (the rest are not inspected)',
  targets_too_many: 'one collection (names, cookies, headers, ...) holds more than 2 × maxArgs targets (the rest are not inspected)',
  body_truncated: 'the body was longer than the inspection limit; only its start was inspected',
  content_type_multiple: 'several Content-Type headers, or several media types in one',
  content_type_invalid: 'Content-Type is not type/subtype or has malformed parameters',
  content_type_param_duplicate: 'a Content-Type parameter (e.g. charset) appears twice',
  content_type_unknown_charset: 'a charset other than UTF-8 / ASCII / Latin-1',
  content_type_missing: 'a body without Content-Type',
  body_not_declared_type: 'the body is not what its Content-Type says (e.g. JSON sent as a form)',
  json_invalid: 'a body declared JSON does not parse',
  json_too_deep: 'JSON nested deeper than maxDepth (deeper parts are inspected as JSON text)',
  xml_invalid: 'XML is not well-formed',
  xml_doctype: 'XML DOCTYPE or ENTITY declaration (never expanded, never fetched)',
  xml_too_deep: 'XML nested deeper than maxDepth',
  multipart_boundary_missing: 'multipart without a boundary parameter',
  multipart_boundary_duplicate: 'several boundary parameters',
  multipart_boundary_invalid: 'boundary too long or with characters RFC 2046 forbids',
  multipart_boundary_ambiguous: 'the boundary text appears where it is not a delimiter line',
  multipart_unterminated: 'no closing boundary (or no boundary at all in the body)',
  multipart_part_headers_bad: 'a part header is malformed, duplicated, folded, or Content-Disposition is missing/odd',
  multipart_bare_lf: 'multipart lines end in LF instead of CRLF',
  multipart_data_outside_parts: 'data before the first or after the closing boundary',
  multipart_filename_suspicious: 'a filename with path separators, dot segments, quotes, control chars, or filename*',
  multipart_transfer_encoding: 'a part with Content-Transfer-Encoding (base64 / quoted-printable are decoded for inspection)',
  multipart_nested: 'a part that is itself multipart',
  multipart_too_many_parts: 'more parts than maxParts (the rest are not inspected)',
  multipart_type_unusual: 'a multipart type other than multipart/form-data',
  body_charset_sniffed: 'a UTF-16/32 body (BOM or NUL pattern) without a matching charset; decoded for inspection',
  body_content_encoding: 'a compressed request body (gzip/deflate/br); inspected after inflating',
  body_decompression_failed: 'a compressed body that does not inflate, or an unknown coding: NOT inspected',
  body_decompression_limit: 'a compressed body inflating past maxInflated: NOT inspected',
} as const;
export type FindingCode = keyof typeof FINDING_CODES;

export interface ViewLimits {
  /** Arguments read (query + body, JSON leaves and XML values count); beyond: `args_too_many`. */
  maxArgs?: number;
  /** JSON / XML nesting depth. */
  maxDepth?: number;
  /** Multipart parts. */
  maxParts?: number;
  /** Bytes of each file part kept as `files` text. */
  maxFileBytes?: number;
  /** Bytes of body kept as `body_raw`. */
  maxRawBody?: number;
  /** Distinct findings kept. */
  maxFindings?: number;
  /** Bytes a compressed body may inflate to for inspection. */
  maxInflated?: number;
}

export const DEFAULT_VIEW_LIMITS: Required<ViewLimits> = {
  maxArgs: 5000,
  maxDepth: 64,
  maxParts: 256,
  maxFileBytes: 64 * 1024,
  maxRawBody: 1024 * 1024,
  maxFindings: 64,
  maxInflated: 1024 * 1024,
};

export interface RequestView {
  targets: Target[];
  findings: Finding[];
  /** The same targets grouped by collection, in order (what the engine selects from). */
  byCollection: Map<string, Target[]>;
  /**
   * The header lines the view was built from (names as sent): the targets of HEADER_COLLECTIONS are a function of them
   * alone, so the engine can remember a whole header block it found clean.
   */
  headerLines?: HeaderLines;
  /** Findings the header lines raised (counted before the findings cap and duplicates are dropped). */
  headerFindings?: number;
  /** True when the targets of HEADER_COLLECTIONS were left out (see `ViewGate`). */
  headersLeftOut?: boolean;
  /** The request line (`METHOD target HTTP/x.y`): the targets of LINE_COLLECTIONS are a function of it alone. */
  requestLine?: string;
  /** Findings the request line raised (its path's). */
  lineFindings?: number;
  /** True when the targets of LINE_COLLECTIONS were left out (see `ViewGate`). */
  lineLeftOut?: boolean;
  /**
   * The request line without its query (`METHOD path HTTP/x.y`), when the gate was asked about it: the targets of
   * PATH_COLLECTIONS are a function of it alone.
   */
  pathLine?: string;
  /** True when the targets of PATH_COLLECTIONS were left out (the gate knew the path line, not the whole line). */
  pathLeftOut?: boolean;
  /** Targets left out per collection (parts the gate knew clean), for `count:` selectors. */
  leftOut?: Record<string, number>;
  /**
   * With a gate: the parts (by kind) read in full that raised no finding; once the engine finds the request clean,
   * it can remember them as clean.
   */
  freshParts?: [FreshPart[], FreshPart[]];
}

/** A query or form part as sent, its decoded name, and its place among the non-empty parts of its query or form. */
export interface FreshPart {
  raw: string;
  name: string;
  at: number;
}

/**
 * What the engine knows clean, asked while the view is built (under the plan the decoded path picks). `headers`, asked
 * once, first: true leaves out the targets of HEADER_COLLECTIONS (the engine knows this header block clean); Content-Type
 * and Content-Encoding are still read for the body. `part`, asked for each `&`-separated part of the query
 * (PART_QUERY) and of a form body read part by part (PART_FORM) as sent: its decoded name (as the engine kept it with
 * the part) when known clean, which leaves out the targets it makes (`args`, `args_get` / `args_post`, `args_names`,
 * and its `body_raw` part), counted in `leftOut`; its name still counts for parameter pollution. Null: read it.
 */
export interface ViewGate {
  headers(path: string, lines: HeaderLines): boolean;
  /**
   * Asked after `headers`, first about the request line (REQUEST_LINE): true leaves out the targets of LINE_COLLECTIONS
   * (the engine knows this line clean), counted in `leftOut`. Otherwise, when the target has a query, about the line
   * without it (PATH_LINE, `METHOD path HTTP/x.y`): true leaves out the targets of PATH_COLLECTIONS (a page asked with
   * a new query: `request_line`, `uri_raw` and `query_raw` are read). The query's parts are read part by part either
   * way (and asked about one by one).
   */
  line(kind: LineKind, text: string): boolean;
  /** The part `text.slice(start, end)`, the `at`-th non-empty part of its query or form (from 0). */
  part(kind: PartKind, text: string, start: number, end: number, at: number): string | null;
}

export const PART_QUERY = 0;
export const PART_FORM = 1;
export type PartKind = typeof PART_QUERY | typeof PART_FORM;
/** What the gate is asked about besides parts, numbered after them (for the engine's memo places). */
export const REQUEST_LINE = 2;
export const PATH_LINE = 3;
export type LineKind = typeof REQUEST_LINE | typeof PATH_LINE;
export type GateKind = PartKind | LineKind;

/** The collections whose targets come from the header lines and nothing else (their `count:` forms too). */
export const HEADER_COLLECTIONS: ReadonlySet<string> = new Set(['headers', 'headers_names', 'cookies', 'cookie_names']);
/** The collections whose targets come from the request line and nothing else. */
export const LINE_COLLECTIONS: ReadonlySet<string> = new Set(['method', 'protocol', 'request_line', 'uri_raw', 'path_raw', 'path', 'path_segments', 'query_raw']);
/** The collections whose targets come from the request line without its query (method, path as sent, version). */
export const PATH_COLLECTIONS: ReadonlySet<string> = new Set(['method', 'protocol', 'path_raw', 'path', 'path_segments']);

/** Control chars other than tab / CR / LF (allowed in argument values, e.g. textareas). */
const CTL_VALUE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** Control chars including CR / LF (never legitimate in a path, name, cookie or header). */
const CTL_STRICT = /[\x00-\x1f\x7f]/;
/** Control chars other than tab (header values may hold tabs). */
const CTL_HEADER = /[\x00-\x08\x0a-\x1f\x7f]/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** A target of the view. Its name (`collection:key`, or the collection alone) is made when read: only matches read it. */
class ViewTarget implements Target {
  constructor(
    readonly collection: string,
    readonly key: string,
    readonly value: string,
    private readonly single: boolean,
  ) {}
  get name(): string {
    return this.single ? this.collection : this.collection + ':' + this.key;
  }
}

/** A part the gate knew clean, as parameter pollution sees it: its name decoded, its value cut out and decoded when read. */
class LeftOutArg {
  constructor(
    readonly key: string,
    private readonly text: string,
    private readonly start: number,
    private readonly end: number,
  ) {}
  get value(): string {
    return partValue(this.text.slice(this.start, this.end));
  }
}

type NamedValue = { readonly key: string; readonly value: string };

/** Slots of the scratch table `anyRepeatedName` uses (a power of two, at least twice the names it takes). */
const NAME_SLOTS = 256;
const nameSlot = new Int32Array(NAME_SLOTS);
const nameStamp = new Int32Array(NAME_SLOTS);
let nameRound = 0;

/**
 * Whether two of the arguments share a name. Most requests repeat none: found out without a list per name, nor a Set
 * that hashes every name whole: a quadratic scan for a few, then an open-addressing table reused by every request
 * (slots stamped per call, so it is never cleared), placed by a name's length and two of its characters and compared
 * whole; past NAME_SLOTS / 2 names, a Set.
 */
function anyRepeatedName(args: readonly NamedValue[]): boolean {
  const n = args.length;
  if (n <= 16) {
    for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) if (args[i].key === args[j].key) return true;
    return false;
  }
  if (n <= NAME_SLOTS >> 1) {
    let round = (nameRound + 1) | 0;
    if (round === 0) {
      // Wrapped around (after 2^32 calls): no slot may carry a stamp from a round that comes again.
      nameStamp.fill(0);
      round = 1;
    }
    nameRound = round;
    for (let i = 0; i < n; i++) {
      const k = args[i].key;
      const len = k.length;
      let h = len === 0 ? 0 : (Math.imul(len, 0x9e3779b1) ^ Math.imul(k.charCodeAt(len - 1), 31) ^ k.charCodeAt(len >> 1)) & (NAME_SLOTS - 1);
      while (nameStamp[h] === round) {
        if (args[nameSlot[h]].key === k) return true;
        h = (h + 1) & (NAME_SLOTS - 1);
      }
      nameStamp[h] = round;
      nameSlot[h] = i;
    }
    return false;
  }
  const names = new Set<string>();
  for (let i = 0; i < n; i++) {
    const k = args[i].key;
    if (names.has(k)) return true;
    names.add(k);
  }
  return false;
}

class ViewBuilder implements BodySink {
  readonly targets: Target[] = [];
  readonly findings: Finding[] = [];
  readonly byCollection = new Map<string, Target[]>();
  // Made on the first finding / cap (most requests have none: no Set to allocate).
  private seenFindings: Set<string> | null = null;
  private seenCodes: Set<string> | null = null;
  private args = 0;
  private argsFull = false;
  /** `args` targets whose names can repeat (query, form, multipart, XML); JSON paths are unique. */
  private readonly repeatable: NamedValue[] = [];
  /**
   * Where XML values start in `repeatable` (-1: none). The ones before came from the query, a form or multipart
   * (fields: a repeated name is parameter pollution); XML repeats elements as lists. A body is one or the other, and
   * the query comes first.
   */
  private xmlFrom = -1;
  /** Hard cap on any one collection (names, cookies, headers, ...), so no input makes the view unbounded. */
  private readonly perCollection: number;
  private capped: Set<string> | null = null;
  /** Findings raised so far, kept or not (the cap and duplicates drop some). */
  raised = 0;
  /** See RequestView. */
  leftOut: Record<string, number> | undefined;
  readonly freshParts: [FreshPart[], FreshPart[]] | undefined;
  /** Whether the body's `body_raw` targets are in (a form read part by part). */
  bodyRawDone = false;

  constructor(
    private readonly limits: Required<ViewLimits>,
    private readonly gate: ViewGate | undefined,
  ) {
    this.perCollection = 2 * limits.maxArgs;
    if (gate !== undefined) this.freshParts = [[], []];
  }

  add(collection: string, key: string | null, value: string): void {
    const t: Target = new ViewTarget(collection, key ?? '', value, key === null);
    const list = this.byCollection.get(collection);
    if (list === undefined) this.byCollection.set(collection, [t]);
    else if (list.length < this.perCollection) list.push(t);
    else {
      const capped = (this.capped ??= new Set());
      if (!capped.has(collection)) {
        capped.add(collection);
        this.finding('targets_too_many', `more than ${this.perCollection} ${collection} targets; the rest are not inspected`, collection);
      }
      return;
    }
    this.targets.push(t);
  }

  finding(code: string, message: string, target?: string): void {
    this.raised++;
    const id = target === undefined ? code : code + '\0' + target;
    const seen = (this.seenFindings ??= new Set());
    if (seen.has(id)) return;
    if (this.findings.length >= this.limits.maxFindings) return;
    seen.add(id);
    const f: Finding = target === undefined ? { code, message } : { code, message, target };
    this.findings.push(f);
    const codes = (this.seenCodes ??= new Set());
    if (!codes.has(code)) {
      codes.add(code);
      this.add('findings', code, code);
    }
  }

  private pushRepeatable(): void {
    const last = this.targets[this.targets.length - 1];
    if (last !== undefined && last.collection === 'args') this.repeatable.push(last);
  }

  /** Count one argument; false (and one `args_too_many`) once the limit is reached. */
  private takeArg(): boolean {
    if (this.args < this.limits.maxArgs) {
      this.args++;
      return true;
    }
    if (!this.argsFull) {
      this.argsFull = true;
      this.finding('args_too_many', `more than ${this.limits.maxArgs} arguments; the rest are not inspected`);
    }
    return false;
  }

  arg(origin: 'args_get' | 'args_post', name: string, value: string, urlDecoded: boolean): boolean {
    if (!this.takeArg()) return false;
    this.add('args', name, value);
    this.pushRepeatable();
    this.add(origin, name, value);
    this.add('args_names', name, name);
    if (CTL_VALUE.test(value) || CTL_STRICT.test(name)) this.finding('ctl_chars', 'control characters in an argument', 'args:' + name);
    if (urlDecoded && (hasPercentSequence(value) || hasPercentSequence(name))) {
      this.finding('multi_encoding', 'argument still percent-encoded after decoding', 'args:' + name);
    }
    return true;
  }

  /**
   * For every argument name sent more than once, one more `args` target holds the values joined
   * with `,` (how ASP.NET and some frameworks read them), so an attack split across duplicates is
   * seen whole. Individual values stay as they are.
   */
  joinDuplicates(): void {
    const args = this.repeatable;
    if (args.length < 2) return;
    if (!anyRepeatedName(args)) return;
    const byName = new Map<string, NamedValue[]>();
    let dup = false;
    for (const t of args) {
      const list = byName.get(t.key);
      if (list === undefined) byName.set(t.key, [t]);
      else if (list.length < 64) {
        list.push(t);
        dup = true;
      }
    }
    if (!dup) return;
    const fieldNames = new Set<string>();
    const fieldEnd = this.xmlFrom < 0 ? args.length : this.xmlFrom;
    for (let i = 0; i < fieldEnd; i++) fieldNames.add(args[i].key);
    for (const [name, list] of byName) {
      if (list.length < 2) continue;
      this.add('args', name, list.map((t) => t.value).join(','));
      if (fieldNames.has(name) && !name.endsWith('[]')) this.finding('args_duplicate', 'an argument name is sent more than once', 'args:' + name);
    }
  }

  /**
   * A query (PART_QUERY) or a form body (PART_FORM), `text` from `from` on, part by part: each part's targets, or (when
   * the gate knows the part clean) its count and name. `kind` -1: a form its backend may read whole (no gate;
   * `body_raw` stays whole, added by the caller).
   */
  urlencoded(text: string, from: number, kind: PartKind | -1, what: string, where: string, tooMany: string): void {
    const origin = kind === PART_QUERY ? 'args_get' : 'args_post';
    const gate = kind >= 0 ? this.gate : undefined;
    const fresh = gate !== undefined ? (this.freshParts as [FreshPart[], FreshPart[]])[kind as PartKind] : undefined;
    const split = kind === PART_FORM;
    const max = this.limits.maxArgs;
    const n = text.length;
    let pairs = 0;
    let invalid = false;
    let badUtf8 = false;
    // Until the arguments are full; a form read part by part keeps its body_raw parts after that.
    let open = true;
    let start = from;
    while (start < n) {
      let end = text.indexOf('&', start);
      if (end < 0) end = n;
      if (end > start) {
        if (pairs >= max) {
          this.finding('args_too_many', tooMany, where);
          break;
        }
        pairs++;
        // A part the gate knows clean is not cut out of the text.
        const known = open && gate !== undefined ? gate.part(kind as PartKind, text, start, end, pairs - 1) : null;
        if (known !== null) {
          if (this.leaveOut(origin, text, start, end, known, split)) {
            start = end + 1;
            continue;
          }
          open = false;
        }
        const raw = text.slice(start, end);
        if (open) {
          const before = this.raised;
          const p = decodePart(raw);
          if (p.invalid) invalid = true;
          if (p.badUtf8) badUtf8 = true;
          if (!this.arg(origin, p.name, p.value, true)) open = false;
          else if (fresh !== undefined && this.raised === before && !p.invalid && !p.badUtf8) fresh.push({ raw, name: p.name, at: pairs - 1 });
        }
        if (split) this.add('body_raw', null, raw);
        else if (!open) break;
      }
      start = end + 1;
    }
    if (invalid) this.finding('url_encoding_invalid', `a % in the ${what} is not followed by two hex digits`, where);
    if (badUtf8) this.finding('utf8_invalid', `the ${what} decodes to invalid UTF-8`, where);
  }

  /** A part the gate knows clean: counted, its name kept for parameter pollution; false once the arguments are full. */
  private leaveOut(origin: string, text: string, start: number, end: number, name: string, split: boolean): boolean {
    if (!this.takeArg()) return false;
    const c = (this.leftOut ??= {});
    c.args = (c.args ?? 0) + 1;
    c[origin] = (c[origin] ?? 0) + 1;
    c.args_names = (c.args_names ?? 0) + 1;
    if (split) c.body_raw = (c.body_raw ?? 0) + 1;
    this.repeatable.push(new LeftOutArg(name, text, start, end));
    return true;
  }

  // --- BodySink -----------------------------------------------------------
  form(text: string, declared: boolean): void {
    // Read part by part (body_raw too) when its backend reads it as a form, unless it has more parts than are read
    // as arguments or is longer than body_raw keeps: then body_raw is the body (its start), added by the caller.
    // n non-empty parts take at least 2n - 1 characters: a shorter text need not be counted.
    const max = this.limits.maxArgs;
    const split = declared && text.length <= this.limits.maxRawBody && (text.length < 2 * max + 1 || countParts(text, max + 1) <= max);
    this.bodyRawDone = split;
    this.urlencoded(text, 0, split ? PART_FORM : -1, 'form body', 'body_raw', `more than ${this.limits.maxArgs} form fields`);
  }
  field(name: string, value: string): boolean {
    return this.arg('args_post', name, value, true);
  }
  jsonLeaf(path: string, value: string): boolean {
    if (!this.takeArg()) return false;
    this.add('args', path, value);
    this.add('args_post', path, value);
    this.add('json', path, value);
    if (CTL_VALUE.test(value)) this.finding('ctl_chars', 'control characters in a JSON value', 'json:' + path);
    return true;
  }
  jsonKey(path: string, key: string): void {
    this.add('args_names', path, key);
    if (CTL_STRICT.test(key)) this.finding('ctl_chars', 'control characters in a JSON key', 'json:' + path);
  }
  xmlValue(path: string, value: string): boolean {
    if (!this.takeArg()) return false;
    this.add('args', path, value);
    if (this.xmlFrom < 0) this.xmlFrom = this.repeatable.length;
    this.pushRepeatable();
    this.add('args_post', path, value);
    this.add('xml', path, value);
    return true;
  }
  xmlName(path: string, name: string): void {
    this.add('args_names', path, name);
  }
  file(field: string, filename: string, content: string): void {
    this.add('args_names', field, field);
    this.add('files', field, content);
    this.add('file_names', field, filename);
  }
}

/**
 * Build the view of one request. Cheap for the common case (a GET with a few arguments is a few
 * µs); never throws on bad input (it becomes findings); never changes the input.
 */
export function buildRequestView(input: RequestInput, limits?: ViewLimits, gate?: ViewGate): RequestView {
  const lim: Required<ViewLimits> = limits === undefined ? DEFAULT_VIEW_LIMITS : { ...DEFAULT_VIEW_LIMITS, ...limits };
  const v = new ViewBuilder(lim, gate);
  const url = input.url;
  const protocol = 'HTTP/' + input.httpVersion;
  const requestLine = input.method + ' ' + url + ' ' + protocol;
  const q = url.indexOf('?');
  let rawPath = q < 0 ? url : url.slice(0, q);
  const abs = ABSOLUTE_FORM.exec(rawPath);
  if (abs !== null) rawPath = rawPath.slice(abs[0].length) || '/';
  const dp = decodePath(rawPath);

  const headers = input.headers;
  const leaveOut = gate !== undefined && gate.headers(dp.path, headers);
  const lineLeftOut = gate !== undefined && gate.line(REQUEST_LINE, requestLine);
  // Without a query the path line is the request line (up to an absolute-form target's scheme and host): not asked.
  const pathLine = lineLeftOut || gate === undefined || q < 0 ? undefined : input.method + ' ' + rawPath + ' ' + protocol;
  const pathLeftOut = pathLine !== undefined && (gate as ViewGate).line(PATH_LINE, pathLine);

  const lineBefore = v.raised;
  if (lineLeftOut || pathLeftOut) {
    const c = (v.leftOut ??= {});
    for (const coll of lineLeftOut ? LINE_COLLECTIONS : PATH_COLLECTIONS) {
      c[coll] = (c[coll] ?? 0) + (coll === 'path_segments' ? dp.segments.length : coll === 'query_raw' ? (q >= 0 ? 1 : 0) : 1);
    }
  }
  if (!lineLeftOut) {
    if (!pathLeftOut) {
      v.add('method', null, input.method);
      v.add('protocol', null, protocol);
    }
    v.add('request_line', null, requestLine);
    v.add('uri_raw', null, url);
    if (!pathLeftOut) {
      v.add('path_raw', null, rawPath);
      v.add('path', null, dp.path);
      for (let i = 0; i < dp.segments.length; i++) v.add('path_segments', String(i), dp.segments[i]);
      if (dp.invalidEncoding) v.finding('url_encoding_invalid', 'a % in the path is not followed by two hex digits', 'path');
      if (dp.badUtf8) v.finding('utf8_invalid', 'the path decodes to invalid UTF-8', 'path');
      if (CTL_STRICT.test(dp.path)) v.finding('ctl_chars', 'control characters in the path', 'path');
      if (hasPercentSequence(dp.path)) v.finding('multi_encoding', 'the path is still percent-encoded after decoding', 'path');
    }
    if (q >= 0) v.add('query_raw', null, url.slice(q + 1));
  }
  const lineFindings = v.raised - lineBefore;

  if (q >= 0) {
    // Read in the URL itself (the characters of a part cost less to read there than in a slice of it).
    v.urlencoded(url, q + 1, PART_QUERY, 'query', 'query_raw', `more than ${lim.maxArgs} query arguments`);
  }

  const contentTypes: string[] = [];
  let contentEncoding: string | undefined;
  const raisedBefore = v.raised;
  for (let i = 0; i < headers.length; i++) {
    const [rawName, value] = headers[i];
    if (leaveOut) {
      // Only what the body needs: the names are compared without lowercasing them (most differ in length).
      const n = rawName.length;
      if (n === 12 && rawName.toLowerCase() === 'content-type') contentTypes.push(value);
      else if (n === 16 && rawName.toLowerCase() === 'content-encoding') contentEncoding = contentEncoding === undefined ? value : contentEncoding + ', ' + value;
      continue;
    }
    const name = rawName.toLowerCase();
    v.add('headers', name, value);
    v.add('headers_names', name, rawName);
    if (CTL_HEADER.test(value)) v.finding('ctl_chars', 'control characters in a header', 'headers:' + name);
    if (name === 'cookie') {
      for (const [cn, cv] of parseCookieHeader(value, [], 2 * lim.maxArgs + 1)) {
        v.add('cookies', cn, cv);
        v.add('cookie_names', cn, cn);
        if (CTL_STRICT.test(cv)) v.finding('ctl_chars', 'control characters in a cookie', 'cookies:' + cn);
      }
    } else if (name === 'content-type') {
      contentTypes.push(value);
    } else if (name === 'content-encoding') {
      contentEncoding = contentEncoding === undefined ? value : contentEncoding + ', ' + value;
    }
  }
  const headerFindings = v.raised - raisedBefore;

  const body = input.body;
  if (input.bodyTruncated) v.finding('body_truncated', 'body longer than the inspection limit; only the start was inspected', 'body_raw');
  if (body !== null && body.length > 0) {
    const { text } = inspectBody(body, contentTypes, lim, v, contentEncoding);
    if (!v.bodyRawDone) v.add('body_raw', null, text.length > lim.maxRawBody ? text.slice(0, lim.maxRawBody) : text);
  } else if (contentTypes.length > 1) {
    v.finding('content_type_multiple', `${contentTypes.length} Content-Type headers`, 'headers:content-type');
  }

  v.joinDuplicates();
  return {
    targets: v.targets, findings: v.findings, byCollection: v.byCollection, headerLines: headers, headerFindings,
    headersLeftOut: leaveOut, requestLine, lineFindings, lineLeftOut, pathLine, pathLeftOut, leftOut: v.leftOut, freshParts: v.freshParts,
  };
}

/**
 * The non-empty `&`-separated parts of a text, counted up to `max`. A form's backend splits its body at `&` before
 * anything else (Django, PHP, Node, Rails: `;` is no longer a separator), so no value it reads spans two parts: matching
 * part by part finds everything that reaches it as one string, and a part repeated between requests (every field but
 * the ones that changed) is known clean instead of the whole body being evaluated again.
 */
function countParts(text: string, max: number): number {
  let count = 0;
  let start = 0;
  while (start <= text.length && count < max) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) count++;
    start = end + 1;
  }
  return count;
}

/** Targets of one collection (empty array when none). */
export function targetsOf(view: RequestView, collection: string): Target[] {
  return view.byCollection.get(collection) ?? [];
}
