/** Percent-decoding shared by the request view (query, form, path) and the url_decode transforms. */

import { codeUnits } from '../code-units.ts';

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Value of one hex digit char code, or -1. */
export function hexValue(code: number): number {
  return code < 128 ? HEX[code] : -1;
}

export interface PercentResult {
  value: string;
  changed: boolean;
  /** A `%` not followed by two hex digits (kept literally). */
  invalid: boolean;
  /** Decoded bytes that are not valid UTF-8 (decoded with U+FFFD, like Django and Node do). */
  badUtf8: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });
const UTF8_FATAL = new TextDecoder('utf-8', { fatal: true });

function decodeBytes(bytes: number[], flags: { badUtf8: boolean }): string {
  let ascii = true;
  for (let k = 0; k < bytes.length; k++) {
    if (bytes[k] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return String.fromCharCode.apply(null, bytes);
  const buf = Uint8Array.from(bytes);
  try {
    return UTF8_FATAL.decode(buf);
  } catch {
    flags.badUtf8 = true;
    return UTF8.decode(buf);
  }
}

/** Bytes decoded by `decodeAsciiEscapes` (shared: inspection is synchronous; grown for longer inputs). */
let out = Buffer.allocUnsafeSlow(1 << 16);

/**
 * `%XX` (and `+` as space when `plus`) of an ASCII string, decoded in one pass over its code units into bytes, then
 * one native call: a Latin-1 copy when every byte is ASCII, strict UTF-8 otherwise. Null when the string holds a
 * non-ASCII character, a `%` not followed by two hex digits (`%u` included) or bytes that are not UTF-8: the slower
 * paths below decide those. V8's `decodeURIComponent` took ~5 ns a character on a 2 KB form body.
 */
function decodeAsciiEscapes(s: string, plus: boolean): string | null {
  const n = s.length;
  if (out.length < n) out = Buffer.allocUnsafeSlow(n + 1024);
  const b = out;
  const u = codeUnits(s);
  let j = 0;
  let high = 0;
  for (let i = 0; i < n; i++) {
    const c = u[i];
    if (c === 37 /* % */) {
      if (i + 2 >= n) return null;
      const x = u[i + 1];
      const y = u[i + 2];
      const h1 = x < 128 ? HEX[x] : -1;
      const h2 = y < 128 ? HEX[y] : -1;
      if ((h1 | h2) < 0) return null;
      const v = (h1 << 4) | h2;
      b[j++] = v;
      high |= v;
      i += 2;
    } else if (c === 43 /* + */ && plus) b[j++] = 32;
    else if (c < 128) b[j++] = c;
    else return null;
  }
  if (high < 128) return b.toString('latin1', 0, j);
  try {
    return UTF8_FATAL.decode(b.subarray(0, j));
  } catch {
    return null;
  }
}

/**
 * Decode `%XX` once (and `+` as space when `plus`; `%uXXXX` when `uni`). Invalid sequences stay
 * as they are and set `invalid`. Returns the input itself when there is nothing to decode.
 */
export function percentDecode(s: string, plus: boolean, uni = false): PercentResult {
  const firstPct = s.indexOf('%');
  const firstPlus = plus ? s.indexOf('+') : -1;
  if (firstPct < 0) {
    if (firstPlus < 0) return { value: s, changed: false, invalid: false, badUtf8: false };
    return { value: s.replaceAll('+', ' '), changed: true, invalid: false, badUtf8: false };
  }
  const fast = decodeAsciiEscapes(s, plus);
  if (fast !== null) return { value: fast, changed: true, invalid: false, badUtf8: false };
  // Then the native decoder, for well-formed input with non-ASCII characters. It throws on a bad % or bad UTF-8, and
  // on any `%u` (`u` is not a hex digit): the byte-wise decoder below decodes `%uXXXX`, and says what was bad.
  try {
    const value = decodeURIComponent(firstPlus >= 0 ? s.replaceAll('+', ' ') : s);
    return { value, changed: true, invalid: false, badUtf8: false };
  } catch {
    // fall through
  }
  const flags = { badUtf8: false };
  let invalid = false;
  let changed = firstPlus >= 0;
  const n = s.length;
  let out = '';
  let start = 0; // start of the pending literal slice
  let i = firstPlus >= 0 && firstPlus < firstPct ? firstPlus : firstPct;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 43 /* + */ && plus) {
      out += s.slice(start, i) + ' ';
      i++;
      start = i;
      continue;
    }
    if (c !== 37 /* % */) {
      i++;
      continue;
    }
    if (uni && i + 5 < n + 0 && (s.charCodeAt(i + 1) | 0x20) === 117 /* u */) {
      const a = hexValue(s.charCodeAt(i + 2));
      const b = hexValue(s.charCodeAt(i + 3));
      const d = hexValue(s.charCodeAt(i + 4));
      const e = hexValue(s.charCodeAt(i + 5));
      if ((a | b | d | e) >= 0) {
        out += s.slice(start, i) + String.fromCharCode((a << 12) | (b << 8) | (d << 4) | e);
        i += 6;
        start = i;
        changed = true;
        continue;
      }
    }
    const h1 = i + 2 < n ? hexValue(s.charCodeAt(i + 1)) : -1;
    const h2 = h1 >= 0 ? hexValue(s.charCodeAt(i + 2)) : -1;
    if (h2 < 0) {
      invalid = true;
      i++;
      continue;
    }
    // A run of %XX bytes is decoded together so multi-byte UTF-8 sequences come out whole.
    out += s.slice(start, i);
    const bytes: number[] = [];
    while (i + 2 < n && s.charCodeAt(i) === 37) {
      const x = hexValue(s.charCodeAt(i + 1));
      const y = x >= 0 ? hexValue(s.charCodeAt(i + 2)) : -1;
      if (y < 0) break;
      bytes.push((x << 4) | y);
      i += 3;
    }
    out += decodeBytes(bytes, flags);
    start = i;
    changed = true;
  }
  if (!changed) return { value: s, changed: false, invalid, badUtf8: false };
  out += s.slice(start);
  return { value: out, changed: true, invalid, badUtf8: flags.badUtf8 };
}

/** True when `s` still holds a valid `%XX` (or `%uXXXX`) sequence, i.e. one more decode would change it. */
export function hasPercentSequence(s: string): boolean {
  let i = s.indexOf('%');
  while (i >= 0 && i + 2 < s.length + 0) {
    if (hexValue(s.charCodeAt(i + 1)) >= 0 && hexValue(s.charCodeAt(i + 2)) >= 0) return true;
    if ((s.charCodeAt(i + 1) | 0x20) === 117 && i + 5 < s.length) {
      let ok = true;
      for (let k = 2; k < 6; k++) if (hexValue(s.charCodeAt(i + k)) < 0) ok = false;
      if (ok) return true;
    }
    i = s.indexOf('%', i + 1);
  }
  return false;
}

/** Repeat `%XX` / `%uXXXX` decoding until stable (at most `maxLayers`) and count the layers that changed it. */
export function urlDecodeLayers(s: string, maxLayers = 5): { value: string; layers: number } {
  let value = s;
  let layers = 0;
  while (layers < maxLayers) {
    const r = percentDecode(value, false, true);
    if (!r.changed) break;
    value = r.value;
    layers++;
  }
  return { value, layers };
}
