/** Path normalisation: the path a backend resolves, seen through `//`, `/./`, `/../`, `%2f` and `\` tricks. */

import { percentDecode } from './transforms/percent.ts';

/**
 * Resolve `.` and `..` segments, collapse repeated slashes and turn backslashes into slashes.
 * Does not percent-decode. An absolute path never climbs above `/`; a relative one keeps its
 * leading `..` (they are what a traversal looks like). A trailing slash is kept. `..;x` counts as
 * `..` (Java servers strip path parameters before resolving).
 */
export function normalizeSlashes(input: string): string {
  if (input.indexOf('\\') < 0 && input.indexOf('//') < 0 && input.indexOf('/.') < 0 && !input.startsWith('.')) {
    return input;
  }
  const s = input.replaceAll('\\', '/');
  const absolute = s.startsWith('/');
  const parts = s.split('/');
  const last = parts[parts.length - 1];
  const trailing = parts.length > 1 && (last === '' || last === '.' || last === '..');
  const stack: string[] = [];
  for (let part of parts) {
    // `..;x` and `.;x`: Tomcat/Jetty drop path parameters before resolving dot segments.
    if (part.length > 1 && part.charCodeAt(0) === 46 && part.indexOf(';') > 0) {
      const head = part.slice(0, part.indexOf(';'));
      if (head === '.' || head === '..') part = head;
    }
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length > 0 && stack[stack.length - 1] !== '..') stack.pop();
      else if (!absolute) stack.push('..');
      continue;
    }
    stack.push(part);
  }
  let out = (absolute ? '/' : '') + stack.join('/');
  if (trailing && stack.length > 0) out += '/';
  if (out === '') out = absolute ? '/' : '.';
  return out;
}

export interface DecodedPath {
  /** Percent-decoded once, then normalised. */
  path: string;
  /** Each raw segment (split on `/` before decoding), decoded once; empty segments dropped. */
  segments: string[];
  invalidEncoding: boolean;
  badUtf8: boolean;
}

/** Decode a raw path (the part before `?`) once and normalise it. `+` is not a space in a path. */
export function decodePath(rawPath: string): DecodedPath {
  const d = percentDecode(rawPath, false);
  const path = normalizeSlashes(d.value);
  const segments: string[] = [];
  let invalid = d.invalid;
  let bad = d.badUtf8;
  for (const seg of rawPath.split('/')) {
    if (seg === '') continue;
    if (seg.indexOf('%') < 0) {
      segments.push(seg);
      continue;
    }
    const sd = percentDecode(seg, false);
    invalid ||= sd.invalid;
    bad ||= sd.badUtf8;
    segments.push(sd.value);
  }
  return { path, segments, invalidEncoding: invalid, badUtf8: bad };
}
