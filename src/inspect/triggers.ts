/**
 * Transform triggers: characters without which a transform leaves a value unchanged (up to ASCII case). The engine
 * uses them to reuse one literal scan of the raw value for every transform chain that cannot change it.
 */
import { codeUnits } from './code-units.ts';

export const T_PCT = 1; // %
export const T_AMP = 2; // &
export const T_BSL = 4; // backslash
export const T_NONASCII = 8;
export const T_NUL = 16;
export const T_WS = 32; // any whitespace
export const T_WSX = 64; // whitespace other than single spaces (tab, newline, double space)
export const T_COMMENT = 128; // / - #
export const T_HEX = 256; // 0x, 0X, \x
export const T_CMD = 512; // " ' ^ , ; $
export const T_B64 = 1024; // the trimmed value looks like base64 (≥ 8 chars of the alphabet)
export const T_PATH = 2048; // / \ or a leading .
export const T_ALL = 0x7fffffff;

/** Trigger bits of each transform name. A transform missing here always counts as changing the value. */
const BITS: Record<string, number> = {
  url_decode: T_PCT,
  url_decode_uni: T_PCT,
  html_entity_decode: T_AMP,
  js_decode: T_BSL,
  unicode_normalize: T_NONASCII,
  lowercase: T_NONASCII, // ASCII case is folded by the literal scan
  remove_nulls: T_NUL,
  compress_whitespace: T_WSX | T_NONASCII,
  remove_whitespace: T_WS | T_NONASCII,
  remove_comments: T_COMMENT,
  replace_comments: T_COMMENT,
  hex_decode: T_HEX,
  cmdline: T_BSL | T_CMD,
  base64_decode: T_B64,
  normalize_path: T_PATH,
};

/** The trigger bits of a chain, up to ASCII case (T_ALL when a transform is unknown here). */
export function chainTriggers(names: readonly string[]): number {
  let bits = 0;
  for (const n of names) {
    const b = BITS[n];
    if (b === undefined) return T_ALL;
    bits |= b;
  }
  return bits;
}

/** Base64 alphabet (standard and URL-safe) as a table; `=` padding and surrounding whitespace are handled apart. */
const B64_CHAR = (() => {
  const t = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/**
 * Helper bits of ASCII_BITS, not trigger bits (finishTriggers drops them): they say when the checks for pairs and for
 * base64 can find anything. `0` and `x`/`X` (for `0x`); a character that base64-looking text cannot hold (outside the
 * alphabet, `=` and whitespace).
 */
const H_ZERO = 1 << 12;
const H_X = 1 << 13;
const H_NOT_B64 = 1 << 14;
const HELPERS = H_ZERO | H_X | H_NOT_B64;

/** Bits of each ASCII character on its own (the pairs, double space and `0x`, are checked after the loop). */
export const ASCII_BITS = (() => {
  const t = new Uint16Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (!/[A-Za-z0-9+/_\-=\s]/.test(ch)) t[c] |= H_NOT_B64;
  }
  t[48] |= H_ZERO;
  t[120] |= H_X;
  t[88] |= H_X;
  const set = (chars: string, b: number) => { for (const ch of chars) t[ch.charCodeAt(0)] |= b; };
  set('%', T_PCT);
  set('&', T_AMP);
  set('\\', T_BSL | T_HEX | T_PATH);
  t[0] |= T_NUL;
  set(' \t\n\v\f\r', T_WS);
  set('\t\n\v\f\r', T_WSX);
  set('/', T_COMMENT | T_PATH);
  set('-#', T_COMMENT);
  set('"\'^,;$', T_CMD);
  return t;
})();

/** Whether `v` looks like base64: optional whitespace, ≥ 8 alphabet characters, up to two `=`, optional whitespace. */
function base64Like(v: string): boolean {
  const n = v.length;
  let i = 0;
  while (i < n && WS_CHAR[v.charCodeAt(i)] === 1) i++;
  const start = i;
  while (i < n) {
    const c = v.charCodeAt(i);
    if (c >= 128 || B64_CHAR[c] === 0) break;
    i++;
  }
  if (i - start < 8) return false;
  for (let pad = 0; pad < 2 && i < n && v.charCodeAt(i) === 61; pad++) i++;
  while (i < n && WS_CHAR[v.charCodeAt(i)] === 1) i++;
  return i === n;
}

/** JS `\s` characters (the whitespace `\s*` in the base64 check accepts). */
const WS_CHAR = (() => {
  const t = new Uint8Array(65536);
  for (const ch of ' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** The trigger bits present in a value: one pass over the characters, native searches for the pairs. */
export function valueTriggers(v: string): number {
  let bits = 0;
  const n = v.length;
  const units = codeUnits(v);
  for (let i = 0; i < n; i++) {
    const c = units[i];
    if (c >= 128) bits |= T_NONASCII;
    else bits |= ASCII_BITS[c];
  }
  return finishTriggers(v, bits);
}

/**
 * The trigger bits of `v` from `charBits`, the OR of ASCII_BITS over its characters (T_NONASCII for any unit over
 * 127), as the loop of `valueTriggers` or a literal scan (`LiteralMatcher.scanWithBits`) computes it: adds the pairs.
 */
export function finishTriggers(v: string, charBits: number): number {
  let bits = charBits & ~HELPERS;
  if ((charBits & T_WS) !== 0 && v.includes('  ')) bits |= T_WSX;
  if ((charBits & (H_ZERO | H_X)) === (H_ZERO | H_X) && (v.includes('0x') || v.includes('0X'))) bits |= T_HEX;
  if (v.charCodeAt(0) === 46) bits |= T_PATH;
  // Only a value without characters base64 text cannot hold can look like it (non-ASCII ones: base64Like decides).
  if (v.length >= 8 && (charBits & H_NOT_B64) === 0 && base64Like(v)) bits |= T_B64;
  return bits;
}

/** ASCII whitespace, as `remove_whitespace` removes it from an ASCII value (and the trigger bit T_WS counts it). */
export const ASCII_WS = (() => {
  const t = new Uint8Array(128);
  for (const ch of ' \t\n\v\f\r') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/**
 * Where the whitespace lens can see through a chain: the chain ends with `remove_whitespace` followed only by steps
 * that leave an ASCII value's literal marks alone once its whitespace is gone (`lowercase`: the scan folds ASCII case;
 * `remove_nulls` on a value without NUL: deleting whitespace cannot create a NUL or any other character). On an ASCII
 * value holding whitespace just before `remove_whitespace` (the value after the steps before it, applied or skipped by
 * their triggers), the literals of the chain's result are those of that value with its whitespace skipped, found in
 * the same pass as its own (`LiteralMatcher.scanTwoWays`), and the result is made only for a signature to test.
 * - `wsStep`: the index of that `remove_whitespace` (-1: no lens);
 * - `tailMask`: the bits the value before it must lack (non-ASCII: Unicode steps, Unicode spaces; NUL when
 *   `remove_nulls` follows);
 * - `lensMask`: `tailMask` plus the triggers of every step before it but `lowercase` (T_ALL when one is unknown): a raw
 *   value with none of these reaches `remove_whitespace` unchanged (up to ASCII case), so it is its own lens point.
 */
export function whitespaceLens(names: readonly string[], stepTriggers: readonly number[]): { lens: boolean; wsStep: number; tailMask: number; lensMask: number } {
  const no = { lens: false, wsStep: -1, tailMask: 0, lensMask: 0 };
  const w = names.indexOf('remove_whitespace');
  if (w < 0) return no;
  let tail = T_NONASCII;
  for (let k = w + 1; k < names.length; k++) {
    if (names[k] === 'lowercase' || names[k] === 'remove_whitespace') continue;
    if (names[k] !== 'remove_nulls') return no;
    tail |= T_NUL;
  }
  let mask = tail;
  for (let k = 0; k < w; k++) {
    if (names[k] === 'lowercase') continue;
    mask |= stepTriggers[k];
  }
  return { lens: true, wsStep: w, tailMask: tail, lensMask: mask };
}
