/** Content-Type parsing with findings (several headers, duplicate parameters, unknown charset) and charset decoding. */

import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { Finding } from '../../types.ts';

export type BodyKind = 'urlencoded' | 'json' | 'multipart' | 'xml' | 'text' | 'none';

export interface ContentTypeInfo {
  /** Lowercased `type/subtype`, '' when absent or unparsable. */
  mediaType: string;
  kind: BodyKind;
  /** Parameters in order, names lowercased, values unquoted. */
  params: Array<[string, string]>;
  boundary?: string;
  /** Lowercased charset parameter when present. */
  charset?: string;
}

/** Charsets a backend reads as ASCII-compatible single text; anything else is worth a finding. */
const KNOWN_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii', 'iso-8859-1', 'latin1', 'iso-8859-15', 'windows-1252']);

const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Map a media type to the parser that reads it. */
export function bodyKind(mediaType: string): BodyKind {
  if (mediaType === '') return 'none';
  if (mediaType === 'application/x-www-form-urlencoded') return 'urlencoded';
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (mediaType.startsWith('multipart/')) return 'multipart';
  if (mediaType === 'application/xml' || mediaType === 'text/xml' || mediaType.endsWith('+xml')) return 'xml';
  return 'text';
}

function parseParams(rest: string, params: Array<[string, string]>): boolean {
  let i = 0;
  const n = rest.length;
  let ok = true;
  while (i < n) {
    while (i < n && (rest[i] === ';' || rest[i] === ' ' || rest[i] === '\t')) i++;
    if (i >= n) break;
    const eq = rest.indexOf('=', i);
    const semi = rest.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      ok = false;
      i = semi < 0 ? n : semi + 1;
      continue;
    }
    const name = rest.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (rest[i] === '"') {
      i++;
      while (i < n && rest[i] !== '"') {
        if (rest[i] === '\\' && i + 1 < n) i++;
        value += rest[i];
        i++;
      }
      if (i >= n) ok = false;
      i++;
      while (i < n && rest[i] !== ';') {
        if (rest[i] !== ' ' && rest[i] !== '\t') ok = false;
        i++;
      }
    } else {
      const end = semi < 0 ? n : semi;
      value = rest.slice(i, end).trim();
      i = end;
    }
    params.push([name, value]);
  }
  return ok;
}

/**
 * Read the request's Content-Type header value(s). The first header is the one used (Node keeps
 * the first); more than one is a finding, as are duplicate parameters and unknown charsets.
 */
export function parseContentType(values: readonly string[], findings: Finding[]): ContentTypeInfo {
  if (values.length === 0) return { mediaType: '', kind: 'none', params: [] };
  if (values.length > 1) {
    findings.push({ code: 'content_type_multiple', message: `${values.length} Content-Type headers`, target: 'headers:content-type' });
  }
  const raw = values[0];
  const semi = raw.indexOf(';');
  const mediaType = (semi < 0 ? raw : raw.slice(0, semi)).trim().toLowerCase();
  const params: Array<[string, string]> = [];
  const info: ContentTypeInfo = { mediaType, kind: 'text', params };
  if (!MEDIA_TYPE.test(mediaType)) {
    findings.push({ code: 'content_type_invalid', message: 'Content-Type is not a type/subtype', target: 'headers:content-type' });
    info.mediaType = '';
    info.kind = 'text';
    return info;
  }
  info.kind = bodyKind(mediaType);
  if (semi >= 0 && !parseParams(raw.slice(semi + 1), params)) {
    findings.push({ code: 'content_type_invalid', message: 'malformed Content-Type parameters', target: 'headers:content-type' });
  }
  if (/,\s*[\w.+-]+\/[\w.+-]+/.test(raw)) {
    findings.push({ code: 'content_type_multiple', message: 'several media types in one Content-Type', target: 'headers:content-type' });
  }
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) {
      findings.push({
        code: name === 'boundary' ? 'multipart_boundary_duplicate' : 'content_type_param_duplicate',
        message: `Content-Type parameter ${name} appears more than once`,
        target: 'headers:content-type',
      });
      continue;
    }
    seen.add(name);
    if (name === 'boundary') info.boundary = value;
    else if (name === 'charset') info.charset = value.toLowerCase().replace(/^'(.*)'$/, '$1').trim();
  }
  if (info.charset !== undefined && !KNOWN_CHARSETS.has(info.charset)) {
    findings.push({ code: 'content_type_unknown_charset', message: `charset ${info.charset.slice(0, 40)}`, target: 'headers:content-type' });
  }
  return info;
}

/** EBCDIC code pages Python (so Django) decodes and Node does not: byte → char, 256 chars each (generated from Python's codecs). */
const EBCDIC: Record<string, string> = {
  cp037: '\u0000\u0001\u0002\u0003\u009c\u0009\u0086\u007f\u0097\u008d\u008e\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u009d\u0085\u0008\u0087\u0018\u0019\u0092\u008f\u001c\u001d\u001e\u001f\u0080\u0081\u0082\u0083\u0084\u000a\u0017\u001b\u0088\u0089\u008a\u008b\u008c\u0005\u0006\u0007\u0090\u0091\u0016\u0093\u0094\u0095\u0096\u0004\u0098\u0099\u009a\u009b\u0014\u0015\u009e\u001a \u00a0\u00e2\u00e4\u00e0\u00e1\u00e3\u00e5\u00e7\u00f1\u00a2.<(+|&\u00e9\u00ea\u00eb\u00e8\u00ed\u00ee\u00ef\u00ec\u00df!$*);\u00ac-/\u00c2\u00c4\u00c0\u00c1\u00c3\u00c5\u00c7\u00d1\u00a6,%_>?\u00f8\u00c9\u00ca\u00cb\u00c8\u00cd\u00ce\u00cf\u00cc`:#@\u0027="\u00d8abcdefghi\u00ab\u00bb\u00f0\u00fd\u00fe\u00b1\u00b0jklmnopqr\u00aa\u00ba\u00e6\u00b8\u00c6\u00a4\u00b5~stuvwxyz\u00a1\u00bf\u00d0\u00dd\u00de\u00ae^\u00a3\u00a5\u00b7\u00a9\u00a7\u00b6\u00bc\u00bd\u00be[]\u00af\u00a8\u00b4\u00d7{ABCDEFGHI\u00ad\u00f4\u00f6\u00f2\u00f3\u00f5}JKLMNOPQR\u00b9\u00fb\u00fc\u00f9\u00fa\u00ff\u005c\u00f7STUVWXYZ\u00b2\u00d4\u00d6\u00d2\u00d3\u00d50123456789\u00b3\u00db\u00dc\u00d9\u00da\u009f',
  cp500: '\u0000\u0001\u0002\u0003\u009c\u0009\u0086\u007f\u0097\u008d\u008e\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u009d\u0085\u0008\u0087\u0018\u0019\u0092\u008f\u001c\u001d\u001e\u001f\u0080\u0081\u0082\u0083\u0084\u000a\u0017\u001b\u0088\u0089\u008a\u008b\u008c\u0005\u0006\u0007\u0090\u0091\u0016\u0093\u0094\u0095\u0096\u0004\u0098\u0099\u009a\u009b\u0014\u0015\u009e\u001a \u00a0\u00e2\u00e4\u00e0\u00e1\u00e3\u00e5\u00e7\u00f1[.<(+!&\u00e9\u00ea\u00eb\u00e8\u00ed\u00ee\u00ef\u00ec\u00df]$*);^-/\u00c2\u00c4\u00c0\u00c1\u00c3\u00c5\u00c7\u00d1\u00a6,%_>?\u00f8\u00c9\u00ca\u00cb\u00c8\u00cd\u00ce\u00cf\u00cc`:#@\u0027="\u00d8abcdefghi\u00ab\u00bb\u00f0\u00fd\u00fe\u00b1\u00b0jklmnopqr\u00aa\u00ba\u00e6\u00b8\u00c6\u00a4\u00b5~stuvwxyz\u00a1\u00bf\u00d0\u00dd\u00de\u00ae\u00a2\u00a3\u00a5\u00b7\u00a9\u00a7\u00b6\u00bc\u00bd\u00be\u00ac|\u00af\u00a8\u00b4\u00d7{ABCDEFGHI\u00ad\u00f4\u00f6\u00f2\u00f3\u00f5}JKLMNOPQR\u00b9\u00fb\u00fc\u00f9\u00fa\u00ff\u005c\u00f7STUVWXYZ\u00b2\u00d4\u00d6\u00d2\u00d3\u00d50123456789\u00b3\u00db\u00dc\u00d9\u00da\u009f',
  cp1026: '\u0000\u0001\u0002\u0003\u009c\u0009\u0086\u007f\u0097\u008d\u008e\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u009d\u0085\u0008\u0087\u0018\u0019\u0092\u008f\u001c\u001d\u001e\u001f\u0080\u0081\u0082\u0083\u0084\u000a\u0017\u001b\u0088\u0089\u008a\u008b\u008c\u0005\u0006\u0007\u0090\u0091\u0016\u0093\u0094\u0095\u0096\u0004\u0098\u0099\u009a\u009b\u0014\u0015\u009e\u001a \u00a0\u00e2\u00e4\u00e0\u00e1\u00e3\u00e5{\u00f1\u00c7.<(+!&\u00e9\u00ea\u00eb\u00e8\u00ed\u00ee\u00ef\u00ec\u00df\u011e\u0130*);^-/\u00c2\u00c4\u00c0\u00c1\u00c3\u00c5[\u00d1\u015f,%_>?\u00f8\u00c9\u00ca\u00cb\u00c8\u00cd\u00ce\u00cf\u00cc\u0131:\u00d6\u015e\u0027=\u00dc\u00d8abcdefghi\u00ab\u00bb}`\u00a6\u00b1\u00b0jklmnopqr\u00aa\u00ba\u00e6\u00b8\u00c6\u00a4\u00b5\u00f6stuvwxyz\u00a1\u00bf]$@\u00ae\u00a2\u00a3\u00a5\u00b7\u00a9\u00a7\u00b6\u00bc\u00bd\u00be\u00ac|\u00af\u00a8\u00b4\u00d7\u00e7ABCDEFGHI\u00ad\u00f4~\u00f2\u00f3\u00f5\u011fJKLMNOPQR\u00b9\u00fb\u005c\u00f9\u00fa\u00ff\u00fc\u00f7STUVWXYZ\u00b2\u00d4#\u00d2\u00d3\u00d50123456789\u00b3\u00db"\u00d9\u00da\u009f',
  cp1140: '\u0000\u0001\u0002\u0003\u009c\u0009\u0086\u007f\u0097\u008d\u008e\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u009d\u0085\u0008\u0087\u0018\u0019\u0092\u008f\u001c\u001d\u001e\u001f\u0080\u0081\u0082\u0083\u0084\u000a\u0017\u001b\u0088\u0089\u008a\u008b\u008c\u0005\u0006\u0007\u0090\u0091\u0016\u0093\u0094\u0095\u0096\u0004\u0098\u0099\u009a\u009b\u0014\u0015\u009e\u001a \u00a0\u00e2\u00e4\u00e0\u00e1\u00e3\u00e5\u00e7\u00f1\u00a2.<(+|&\u00e9\u00ea\u00eb\u00e8\u00ed\u00ee\u00ef\u00ec\u00df!$*);\u00ac-/\u00c2\u00c4\u00c0\u00c1\u00c3\u00c5\u00c7\u00d1\u00a6,%_>?\u00f8\u00c9\u00ca\u00cb\u00c8\u00cd\u00ce\u00cf\u00cc`:#@\u0027="\u00d8abcdefghi\u00ab\u00bb\u00f0\u00fd\u00fe\u00b1\u00b0jklmnopqr\u00aa\u00ba\u00e6\u00b8\u00c6\u20ac\u00b5~stuvwxyz\u00a1\u00bf\u00d0\u00dd\u00de\u00ae^\u00a3\u00a5\u00b7\u00a9\u00a7\u00b6\u00bc\u00bd\u00be[]\u00af\u00a8\u00b4\u00d7{ABCDEFGHI\u00ad\u00f4\u00f6\u00f2\u00f3\u00f5}JKLMNOPQR\u00b9\u00fb\u00fc\u00f9\u00fa\u00ff\u005c\u00f7STUVWXYZ\u00b2\u00d4\u00d6\u00d2\u00d3\u00d50123456789\u00b3\u00db\u00dc\u00d9\u00da\u009f',
  cp875: '\u0000\u0001\u0002\u0003\u009c\u0009\u0086\u007f\u0097\u008d\u008e\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u009d\u0085\u0008\u0087\u0018\u0019\u0092\u008f\u001c\u001d\u001e\u001f\u0080\u0081\u0082\u0083\u0084\u000a\u0017\u001b\u0088\u0089\u008a\u008b\u008c\u0005\u0006\u0007\u0090\u0091\u0016\u0093\u0094\u0095\u0096\u0004\u0098\u0099\u009a\u009b\u0014\u0015\u009e\u001a \u0391\u0392\u0393\u0394\u0395\u0396\u0397\u0398\u0399[.<(+!&\u039a\u039b\u039c\u039d\u039e\u039f\u03a0\u03a1\u03a3]$*);^-/\u03a4\u03a5\u03a6\u03a7\u03a8\u03a9\u03aa\u03ab|,%_>?\u00a8\u0386\u0388\u0389\u00a0\u038a\u038c\u038e\u038f`:#@\u0027="\u0385abcdefghi\u03b1\u03b2\u03b3\u03b4\u03b5\u03b6\u00b0jklmnopqr\u03b7\u03b8\u03b9\u03ba\u03bb\u03bc\u00b4~stuvwxyz\u03bd\u03be\u03bf\u03c0\u03c1\u03c3\u00a3\u03ac\u03ad\u03ae\u03ca\u03af\u03cc\u03cd\u03cb\u03ce\u03c2\u03c4\u03c5\u03c6\u03c7\u03c8{ABCDEFGHI\u00ad\u03c9\u0390\u03b0\u2018\u2015}JKLMNOPQR\u00b1\u00bd\u001a\u0387\u2019\u00a6\u005c\u001aSTUVWXYZ\u00b2\u00a7\u001a\u001a\u00ab\u00ac0123456789\u00b3\u00a9\u001a\u001a\u00bb\u009f',
};
const EBCDIC_ALIASES: Record<string, string> = {
  cp037: 'cp037', ibm037: 'cp037', 'ibm-037': 'cp037', 'ebcdic-cp-us': 'cp037', 'ebcdic-cp-ca': 'cp037', 'ebcdic-cp-wt': 'cp037', 'ebcdic-cp-nl': 'cp037', 'csibm037': 'cp037', '037': 'cp037',
  cp500: 'cp500', ibm500: 'cp500', 'ibm-500': 'cp500', 'ebcdic-cp-be': 'cp500', 'ebcdic-cp-ch': 'cp500',
  cp1026: 'cp1026', ibm1026: 'cp1026', cp1140: 'cp1140', ibm1140: 'cp1140', cp875: 'cp875', ibm875: 'cp875',
};

function decodeEbcdic(body: Buffer, table: string): string {
  let out = '';
  for (let i = 0; i < body.length; i += 8192) {
    const end = Math.min(body.length, i + 8192);
    const chars: string[] = [];
    for (let k = i; k < end; k++) chars.push(table[body[k]]);
    out += chars.join('');
  }
  return out;
}

const decoders = new Map<string, TextDecoder | null>();

/**
 * Bytes as UTF-8 text when valid, else Latin-1 (every byte stays visible). ASCII bytes (most bodies) are copied as
 * Latin-1, which gives the same string: Node's UTF-8 decoder takes about 4 ms on 1 MB of ASCII, the copy under 0.3.
 */
export function utf8OrLatin1(body: Buffer): string {
  if (isAscii(body)) return body.toString('latin1');
  return isUtf8(body) ? body.toString('utf8') : body.toString('latin1');
}

/**
 * Body bytes as text for inspection: UTF-8 when valid (or declared), otherwise the declared
 * charset, read the way the backend would (WHATWG decoders, then iconv-lite for UTF-7/UTF-32 and
 * other legacy sets, then EBCDIC tables), else Latin-1 (every byte stays visible).
 */
export function decodeBody(body: Buffer, charset?: string): string {
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' || charset === 'ascii') {
    return utf8OrLatin1(body);
  }
  if (charset === 'iso-8859-1' || charset === 'latin1') return body.toString('latin1');
  const ebcdic = EBCDIC_ALIASES[charset];
  if (ebcdic !== undefined) return decodeEbcdic(body, EBCDIC[ebcdic]);
  let d = decoders.get(charset);
  if (d === undefined) {
    try {
      d = new TextDecoder(charset);
    } catch {
      d = null;
    }
    if (decoders.size < 64) decoders.set(charset, d);
  }
  if (d !== null) return d.decode(body);
  if (charset.length < 40 && iconv.encodingExists(charset)) return iconv.decode(body, charset);
  return utf8OrLatin1(body);
}

/**
 * UTF-16 / UTF-32 detected from a BOM or from the NUL pattern of the first bytes, the way
 * Python's json.loads does (so a Django view calling json.loads(request.body) reads it).
 */
export function sniffUnicode(body: Buffer): 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be' | undefined {
  if (body.length < 2) return undefined;
  const [a, b] = [body[0], body[1]];
  if (body.length >= 4) {
    if (a === 0xff && b === 0xfe && body[2] === 0 && body[3] === 0) return 'utf-32le';
    if (a === 0 && b === 0 && body[2] === 0xfe && body[3] === 0xff) return 'utf-32be';
  }
  if (a === 0xff && b === 0xfe) return 'utf-16le';
  if (a === 0xfe && b === 0xff) return 'utf-16be';
  if (body.length >= 4) {
    if (a === 0 && b === 0 && body[2] === 0 && body[3] !== 0) return 'utf-32be';
    if (a !== 0 && b === 0 && body[2] === 0 && body[3] === 0) return 'utf-32le';
  }
  if (a === 0 && b !== 0) return 'utf-16be';
  if (a !== 0 && b === 0) return 'utf-16le';
  return undefined;
}
