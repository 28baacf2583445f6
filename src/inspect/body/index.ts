/** Body inspection entry: picks the parser by Content-Type (and by content when the declared type lies), feeds a sink. */

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Finding } from '../../types.ts';
import { decodeBody, parseContentType, sniffUnicode, type ContentTypeInfo } from './content-type.ts';
import { looksJson, readJson } from './json.ts';
import { readMultipart } from './multipart.ts';
import { looksUrlencoded } from './urlencoded.ts';
import { readXml } from './xml.ts';

export { parseContentType, decodeBody, bodyKind } from './content-type.ts';
export type { BodyKind, ContentTypeInfo } from './content-type.ts';

/** Where parsed body parts go (the request view implements it). Methods returning false mean "stop: limit reached". */
export interface BodySink {
  /**
   * A form body (`name=value&...`), read part by part: each field → args, args_post, args_names, with the findings its
   * encoding raises. `declared`: sent as a form, so its backend reads it as one (its `body_raw` is read part by part).
   */
  form(text: string, declared: boolean): void;
  /** Multipart field → args, args_post, args_names. */
  field(name: string, value: string): boolean;
  /** JSON leaf → args, args_post, json (key = JSON path). */
  jsonLeaf(path: string, value: string): boolean;
  /** JSON object key → args_names. */
  jsonKey(path: string, key: string): void;
  /** XML text / attribute value → args, args_post, xml (key = element path). */
  xmlValue(path: string, value: string): boolean;
  /** XML element / attribute name → args_names. */
  xmlName(path: string, name: string): void;
  /** Multipart file part → files, file_names. */
  file(field: string, filename: string, content: string): void;
  finding(code: string, message: string, target?: string): void;
}

export interface BodyLimits {
  maxArgs: number;
  maxDepth: number;
  maxParts: number;
  maxFileBytes: number;
  /** Most bytes a compressed body may inflate to for inspection. */
  maxInflated: number;
}

export interface BodyResult {
  contentType: ContentTypeInfo;
  /** The body as text (charset-decoded; Latin-1 when not valid UTF-8), for `body_raw`. */
  text: string;
}

function readJsonBody(text: string, limits: BodyLimits, sink: BodySink): boolean {
  const outcome = readJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, limits.maxDepth, {
    leaf: (path, value) => sink.jsonLeaf(path, value),
    key: (path, key) => sink.jsonKey(path, key),
  });
  if (outcome === 'invalid') return false;
  if (outcome === 'too_deep') sink.finding('json_too_deep', `JSON nested deeper than ${limits.maxDepth}`, 'body_raw');
  return true;
}

function readXmlBody(text: string, limits: BodyLimits, sink: BodySink): boolean {
  const r = readXml(text, limits.maxDepth, {
    value: (path, value) => sink.xmlValue(path, value),
    name: (path, name) => sink.xmlName(path, name),
  });
  if (r.doctype) sink.finding('xml_doctype', 'XML DOCTYPE or ENTITY declaration (not expanded)', 'body_raw');
  if (r.tooDeep) sink.finding('xml_too_deep', `XML nested deeper than ${limits.maxDepth}`, 'body_raw');
  if (r.invalid !== undefined) {
    sink.finding('xml_invalid', `XML is not well-formed: ${r.invalid}`, 'body_raw');
    return false;
  }
  return true;
}

/**
 * Undo a request Content-Encoding (gzip, deflate, br) for inspection, bounded by `max` bytes: some
 * backends (Express body-parser) inflate request bodies. Null when it cannot be read (finding given).
 */
function inflate(body: Buffer, encoding: string, max: number, sink: BodySink): Buffer | null {
  const codings = encoding.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return body;
  sink.finding('body_content_encoding', `request body is ${codings.join(', ').slice(0, 40)}-encoded; inspected after decoding`, 'headers:content-encoding');
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const c = codings[i];
    try {
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out, { maxOutputLength: max });
      else if (c === 'br') out = brotliDecompressSync(out, { maxOutputLength: max });
      else if (c === 'deflate') {
        try {
          out = inflateSync(out, { maxOutputLength: max });
        } catch (e) {
          if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw e;
          out = inflateRawSync(out, { maxOutputLength: max });
        }
      } else {
        sink.finding('body_decompression_failed', `unknown Content-Encoding ${c.slice(0, 30)}: body not inspected`, 'headers:content-encoding');
        return null;
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        sink.finding('body_decompression_limit', `body inflates past ${max} bytes: not inspected`, 'headers:content-encoding');
      } else {
        sink.finding('body_decompression_failed', `body does not decode as ${c}: not inspected`, 'headers:content-encoding');
      }
      return null;
    }
  }
  return out;
}

/**
 * Parse a request body for inspection. The declared type decides the parser; a body that does not
 * parse as its declared type is a finding (`json_invalid`, `xml_invalid`, `body_not_declared_type`)
 * and is then also read as what it looks like (JSON or form), so a backend that ignores
 * Content-Type cannot be reached around the inspection. Never throws, never touches `body`.
 */
export function inspectBody(
  original: Buffer,
  contentTypes: readonly string[],
  limits: BodyLimits,
  sink: BodySink,
  contentEncoding?: string,
): BodyResult {
  const findings: Finding[] = [];
  const ct = parseContentType(contentTypes, findings);
  for (const f of findings) sink.finding(f.code, f.message, f.target);
  let body = original;
  if (contentEncoding !== undefined) {
    const inflated = inflate(original, contentEncoding, limits.maxInflated, sink);
    if (inflated === null) return { contentType: ct, text: decodeBody(original, 'latin1') };
    body = inflated;
  }
  let text: string;
  const sniffed = ct.charset === undefined || ct.charset === 'utf-8' || ct.charset === 'utf8' ? sniffUnicode(body) : undefined;
  if (sniffed !== undefined && ct.kind !== 'multipart') {
    sink.finding('body_charset_sniffed', `body is ${sniffed} without declaring it`, 'body_raw');
    text = decodeBody(body, sniffed);
  } else {
    text = decodeBody(body, ct.charset);
  }
  if (body.length === 0) return { contentType: ct, text };

  switch (ct.kind) {
    case 'urlencoded': {
      if (looksJson(text) && readJsonBody(text, limits, sink)) {
        sink.finding('body_not_declared_type', 'form-declared body is JSON', 'body_raw');
        break;
      }
      sink.form(text, true);
      break;
    }
    case 'json': {
      if (readJsonBody(text, limits, sink)) break;
      sink.finding('json_invalid', 'body declared JSON does not parse', 'body_raw');
      if (looksUrlencoded(text)) {
        sink.finding('body_not_declared_type', 'JSON-declared body is a form', 'body_raw');
        sink.form(text, false);
      }
      break;
    }
    case 'multipart': {
      if (ct.mediaType !== 'multipart/form-data') sink.finding('multipart_type_unusual', `multipart type ${ct.mediaType}`, 'headers:content-type');
      readMultipart(body, ct.boundary, { maxParts: limits.maxParts, maxFileBytes: limits.maxFileBytes, maxNesting: 2 }, {
        field: (name, value) => sink.field(name, value),
        file: (field, filename, content) => sink.file(field, filename, content),
        finding: (code, message) => sink.finding(code, message, 'body_raw'),
      });
      break;
    }
    case 'xml': {
      readXmlBody(text, limits, sink);
      break;
    }
    case 'text':
    case 'none': {
      // Undeclared or "other" types: read what it looks like, because some backends do.
      if (looksJson(text)) {
        if (readJsonBody(text, limits, sink)) {
          if (ct.kind === 'none') sink.finding('content_type_missing', 'body without Content-Type is JSON', 'body_raw');
          else sink.finding('body_not_declared_type', `${ct.mediaType || 'body'} body is JSON`, 'body_raw');
        }
      } else if (looksUrlencoded(text)) {
        if (ct.kind === 'none') sink.finding('content_type_missing', 'body without Content-Type looks like a form', 'body_raw');
        sink.form(text, false);
      } else if (ct.kind === 'none') {
        sink.finding('content_type_missing', 'body without Content-Type', 'body_raw');
      }
      break;
    }
  }
  return { contentType: ct, text };
}
