/** Strict multipart/form-data reading: fields and files for inspection, every irregularity a parser could read differently is a finding. */

import { decodeBody, utf8OrLatin1 } from './content-type.ts';

export interface MultipartSink {
  /** A non-file part; return false to stop (count limit reached). */
  field(name: string, value: string): boolean;
  /** A file part (its content as text, already capped). */
  file(field: string, filename: string, content: string): void;
  finding(code: string, message: string): void;
}

export interface MultipartLimits {
  maxParts: number;
  maxFileBytes: number;
  /** How deep nested multipart parts are read (0 = not at all). */
  maxNesting: number;
}

const CR = 13;
const LF = 10;
const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isBlank(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== CR && c !== LF) return false;
  }
  return true;
}

interface Delimiter {
  /** Index of the `--boundary` text. */
  at: number;
  /** First byte after the delimiter line (part headers start here), or -1 for the close delimiter. */
  next: number;
  close: boolean;
  bareLf: boolean;
}

/**
 * Find the next delimiter line at or after `from`: `--boundary` at the start of a line, followed by
 * `--` (close) or optional spaces and a line end. A `--boundary` followed by anything else is not a
 * delimiter, but parsers disagree on that, so it is reported through `ambiguous`.
 */
function findDelimiter(body: Buffer, delim: Buffer, from: number, ambiguous: () => void): Delimiter | null {
  let i = body.indexOf(delim, from);
  while (i >= 0) {
    const lineStart = i === 0 || body[i - 1] === LF;
    if (lineStart) {
      let p = i + delim.length;
      if (body[p] === 45 && body[p + 1] === 45) return { at: i, next: -1, close: true, bareLf: false };
      while (p < body.length && (body[p] === 32 || body[p] === 9)) p++;
      if (body[p] === CR && body[p + 1] === LF) return { at: i, next: p + 2, close: false, bareLf: false };
      if (body[p] === LF) return { at: i, next: p + 1, close: false, bareLf: true };
      if (p >= body.length) return { at: i, next: body.length, close: false, bareLf: false };
    }
    ambiguous();
    i = body.indexOf(delim, i + 1);
  }
  return null;
}

interface Params {
  type: string;
  params: Map<string, string>;
  duplicate: boolean;
  malformed: boolean;
  backslash: boolean;
}

/** Parse `type; a="b"; c=d` (Content-Disposition and part Content-Type). Backslash escapes in quotes are honoured, as Django and busboy do. */
function parseHeaderParams(value: string): Params {
  const semi = value.indexOf(';');
  const res: Params = {
    type: (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase(),
    params: new Map(),
    duplicate: false,
    malformed: false,
    backslash: false,
  };
  if (semi < 0) return res;
  const s = value.slice(semi + 1);
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === ';')) i++;
    if (i >= n) break;
    const eq = s.indexOf('=', i);
    const nextSemi = s.indexOf(';', i);
    if (eq < 0 || (nextSemi >= 0 && nextSemi < eq)) {
      res.malformed = true;
      i = nextSemi < 0 ? n : nextSemi + 1;
      continue;
    }
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    let v = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const ch = s[i];
        if (ch === '\\' && i + 1 < n) {
          res.backslash = true;
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        v += ch;
        i++;
      }
      if (!closed) res.malformed = true;
      while (i < n && s[i] !== ';') {
        if (s[i] !== ' ' && s[i] !== '\t') res.malformed = true;
        i++;
      }
    } else {
      const end = s.indexOf(';', i);
      v = s.slice(i, end < 0 ? n : end).trim();
      if (v.includes('"')) res.malformed = true;
      i = end < 0 ? n : end;
    }
    if (name === '' || !TOKEN.test(name.replace(/\*$/, ''))) res.malformed = true;
    if (res.params.has(name)) res.duplicate = true;
    else res.params.set(name, v);
  }
  return res;
}

/** RFC 5987 `filename*=UTF-8''a%20b.txt`. */
function decodeExtValue(v: string): string {
  const m = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(v);
  if (!m) return v;
  try {
    return decodeURIComponent(m[2]);
  } catch {
    return m[2];
  }
}

const FILENAME_SUSPICIOUS = /[/\\\0-\x1f\x7f"';<>]|\.\.|%00|%2f|%5c|^\.|^\s|\s$|::\$data/i;

function textOf(buf: Buffer, charset?: string): string {
  if (charset !== undefined) return decodeBody(buf, charset);
  return utf8OrLatin1(buf);
}

function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

interface State {
  parts: number;
  stopped: boolean;
}

/**
 * Read a multipart body. Never throws; never changes `body`. Findings:
 * multipart_boundary_missing, multipart_boundary_invalid, multipart_boundary_ambiguous,
 * multipart_unterminated, multipart_part_headers_bad, multipart_bare_lf, multipart_data_outside_parts,
 * multipart_filename_suspicious, multipart_transfer_encoding, multipart_nested, multipart_too_many_parts.
 */
export function readMultipart(
  body: Buffer,
  boundary: string | undefined,
  limits: MultipartLimits,
  sink: MultipartSink,
  state: State = { parts: 0, stopped: false },
  nesting = 0,
): void {
  if (boundary === undefined || boundary === '') {
    sink.finding('multipart_boundary_missing', 'multipart body without a boundary parameter');
    return;
  }
  if (!BCHARS.test(boundary)) {
    sink.finding('multipart_boundary_invalid', 'boundary longer than 70 chars or with characters RFC 2046 does not allow');
  }
  const delim = Buffer.from('--' + boundary, 'latin1');
  let ambiguousSeen = false;
  const ambiguous = () => {
    if (!ambiguousSeen) sink.finding('multipart_boundary_ambiguous', 'the boundary text appears where it is not a delimiter line');
    ambiguousSeen = true;
  };
  let bareLf = false;
  let d = findDelimiter(body, delim, 0, ambiguous);
  if (d === null) {
    sink.finding('multipart_unterminated', 'no boundary delimiter in the body');
    return;
  }
  if (!isBlank(body, 0, d.at)) sink.finding('multipart_data_outside_parts', 'data before the first boundary');
  while (d !== null && !d.close) {
    if (d.bareLf) bareLf = true;
    const start = d.next;
    const nextD = findDelimiter(body, delim, start, ambiguous);
    let end: number;
    if (nextD === null) {
      sink.finding('multipart_unterminated', 'the last part has no closing boundary');
      end = body.length;
    } else {
      end = nextD.at;
      if (end >= 2 && body[end - 2] === CR) end -= 2;
      else {
        if (end > start) bareLf = true;
        end -= 1;
      }
      if (end < start) end = start;
    }
    if (state.parts >= limits.maxParts) {
      sink.finding('multipart_too_many_parts', `more than ${limits.maxParts} parts`);
      state.stopped = true;
      return;
    }
    state.parts++;
    if (readPart(body.subarray(start, end), limits, sink, state, nesting)) bareLf = true;
    if (state.stopped) return;
    d = nextD;
  }
  if (d !== null && d.close) {
    const p = d.at + delim.length + 2;
    if (!isBlank(body, p, body.length)) sink.finding('multipart_data_outside_parts', 'data after the closing boundary');
  }
  if (bareLf) sink.finding('multipart_bare_lf', 'lines end in a bare LF instead of CRLF');
}

/** Read one part; returns true when its header block used bare LF line ends. */
function readPart(part: Buffer, limits: MultipartLimits, sink: MultipartSink, state: State, nesting: number): boolean {
  let bareLf = false;
  let headerEnd = part.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (part.length >= 2 && part[0] === CR && part[1] === LF) {
    headerEnd = 0;
    sepLen = 2;
  }
  const lfEnd = part.indexOf('\n\n');
  if (lfEnd >= 0 && (headerEnd < 0 || lfEnd < headerEnd)) {
    headerEnd = lfEnd;
    sepLen = 2;
    bareLf = true;
  }
  if (headerEnd < 0) {
    sink.finding('multipart_part_headers_bad', 'part without a blank line after its headers');
    if (!state.stopped && !sink.field('', textOf(part))) state.stopped = true;
    return bareLf;
  }
  const headerText = part.subarray(0, headerEnd).toString('latin1');
  let content = part.subarray(headerEnd + sepLen);
  let bad = '';
  let disposition: string | undefined;
  let contentType: string | undefined;
  let transferEncoding: string | undefined;
  const lines = headerText === '' ? [] : headerText.split('\n');
  for (let li = 0; li < lines.length; li++) {
    let line = lines[li];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    else if (li < lines.length - 1) bareLf = true;
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      bad ||= 'folded (obsolete) part header line';
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
      bad ||= 'part header line without a valid name';
      continue;
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') {
      if (disposition !== undefined) bad ||= 'several Content-Disposition headers in one part';
      else disposition = value;
    } else if (name === 'content-type') {
      if (contentType !== undefined) bad ||= 'several Content-Type headers in one part';
      else contentType = value;
    } else if (name === 'content-transfer-encoding') {
      transferEncoding = value.toLowerCase();
    }
  }
  let fieldName = '';
  let filename: string | undefined;
  if (disposition === undefined) {
    bad ||= 'part without Content-Disposition';
  } else {
    const cd = parseHeaderParams(disposition);
    if (cd.type !== 'form-data' && !(nesting > 0 && (cd.type === 'file' || cd.type === 'attachment'))) {
      bad ||= `Content-Disposition type "${cd.type.slice(0, 30)}" is not form-data`;
    }
    if (cd.duplicate) bad ||= 'a Content-Disposition parameter appears twice';
    if (cd.malformed) bad ||= 'malformed Content-Disposition parameters';
    const name = cd.params.get('name');
    if (name === undefined && nesting === 0) bad ||= 'Content-Disposition without name';
    fieldName = name ?? '';
    const plain = cd.params.get('filename');
    const ext = cd.params.get('filename*');
    if (ext !== undefined) {
      sink.finding('multipart_filename_suspicious', 'filename* (RFC 5987) parameter: parsers differ on which name wins');
      filename = decodeExtValue(ext);
    } else {
      filename = plain;
    }
    // HTML character references (`zzz&amp;zzz`, as browsers send some names) are not a `;` trick.
    const bare = filename?.replace(/&(?:[A-Za-z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, '_');
    if (bare !== undefined && filename !== undefined && (FILENAME_SUSPICIOUS.test(bare) || (cd.backslash && plain !== undefined))) {
      sink.finding('multipart_filename_suspicious', `suspicious filename ${JSON.stringify(filename.slice(0, 60))}`);
    }
  }
  if (bad !== '') sink.finding('multipart_part_headers_bad', bad);

  let charset: string | undefined;
  if (contentType !== undefined) {
    const ct = parseHeaderParams(contentType);
    charset = ct.params.get('charset')?.toLowerCase();
    if (ct.type.startsWith('multipart/')) {
      sink.finding('multipart_nested', 'a part is itself multipart');
      if (nesting < limits.maxNesting) {
        readMultipart(content, ct.params.get('boundary'), limits, sink, state, nesting + 1);
        return bareLf;
      }
    }
  }
  if (transferEncoding !== undefined && transferEncoding !== '7bit' && transferEncoding !== '8bit' && transferEncoding !== 'binary') {
    sink.finding('multipart_transfer_encoding', `part Content-Transfer-Encoding ${transferEncoding.slice(0, 30)}`);
    if (transferEncoding === 'base64') {
      content = Buffer.from(content.toString('latin1').replace(/\s+/g, ''), 'base64');
    } else if (transferEncoding === 'quoted-printable') {
      content = Buffer.from(decodeQuotedPrintable(content.toString('latin1')), 'latin1');
    }
  }
  if (filename !== undefined) {
    const capped = content.length > limits.maxFileBytes ? content.subarray(0, limits.maxFileBytes) : content;
    sink.file(fieldName, filename, textOf(capped, charset));
    return bareLf;
  }
  if (!sink.field(fieldName, textOf(content, charset))) state.stopped = true;
  return bareLf;
}
