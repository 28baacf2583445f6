/** Content-Type parsing with findings (several headers, duplicate parameters, unknown charset) and charset decoding. */

import { isUtf8 } from 'node:buffer';
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
    else if (name === 'charset') info.charset = value.toLowerCase();
  }
  if (info.charset !== undefined && !KNOWN_CHARSETS.has(info.charset)) {
    findings.push({ code: 'content_type_unknown_charset', message: `charset ${info.charset.slice(0, 40)}`, target: 'headers:content-type' });
  }
  return info;
}

const decoders = new Map<string, TextDecoder | null>();

/**
 * Body bytes as text for inspection: UTF-8 when valid (or declared), otherwise the declared
 * charset when Node knows it (so UTF-16 or EBCDIC-ish payloads are still read), else Latin-1
 * (every byte stays visible).
 */
export function decodeBody(body: Buffer, charset?: string): string {
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' || charset === 'ascii') {
    return isUtf8(body) ? body.toString('utf8') : body.toString('latin1');
  }
  if (charset === 'iso-8859-1' || charset === 'latin1') return body.toString('latin1');
  let d = decoders.get(charset);
  if (d === undefined) {
    try {
      d = new TextDecoder(charset);
    } catch {
      d = null;
    }
    if (decoders.size < 64) decoders.set(charset, d);
  }
  if (d === null) return isUtf8(body) ? body.toString('utf8') : body.toString('latin1');
  return d.decode(body);
}
