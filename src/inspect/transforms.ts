/** The transform registry: pure `(input) => { value, changed }` decoders that undo what attackers encode. */

import { isUtf8 } from 'node:buffer';
import { decodeHTML } from 'entities';
import { codeUnits } from './code-units.ts';
import { normalizeSlashes } from './path.ts';
import { hexValue, percentDecode, urlDecodeLayers } from './transforms/percent.ts';

export { urlDecodeLayers } from './transforms/percent.ts';

export interface TransformResult {
  value: string;
  changed: boolean;
}
export type Transform = (input: string) => TransformResult;

function same(input: string): TransformResult {
  return { value: input, changed: false };
}
function result(input: string, value: string): TransformResult {
  return value === input ? { value: input, changed: false } : { value, changed: true };
}

/** One layer of `%XX`; `+` stays `+`; invalid sequences stay literal. */
export const urlDecode: Transform = (input) => {
  if (input.indexOf('%') < 0) return same(input);
  const r = percentDecode(input, false);
  return { value: r.value, changed: r.changed };
};

/** `%XX` and `%uXXXX` repeated until stable, at most 5 layers (use `urlDecodeLayers` for the count). */
export const urlDecodeUni: Transform = (input) => {
  if (input.indexOf('%') < 0) return same(input);
  const r = urlDecodeLayers(input);
  return r.layers > 0 ? { value: r.value, changed: true } : same(input);
};

/** HTML5 named, decimal and hex character references, with or without the `;` (as browsers decode them). */
export const htmlEntityDecode: Transform = (input) => {
  if (input.indexOf('&') < 0) return same(input);
  return result(input, decodeHTML(input));
};

// Best-fit punctuation that databases and Windows code pages turn into ASCII, and invisible
// format characters used to split keywords. Letters of other scripts are deliberately NOT mapped
// to Latin look-alikes: they do not execute as Latin, and mapping them would flag honest text.
const BEST_FIT: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u02bc': "'", '\u02b9': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"', '\u02ba': '"',
  '\u2039': '<', '\u203a': '>', '\u2215': '/', '\u2044': '/', '\u2216': '\\',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2212': '-',
  '\u00ad': '', '\u200b': '', '\u200c': '', '\u200d': '', '\u2060': '', '\ufeff': '',
};
const BEST_FIT_RE = new RegExp(`[${Object.keys(BEST_FIT).join('')}]`, 'g');
const NON_ASCII = /[^\x00-\x7f]/;

/** NFKC (full-width and other compatibility forms → ASCII) plus best-fit quotes/dashes; drops zero-width chars. */
export const unicodeNormalize: Transform = (input) => {
  if (!NON_ASCII.test(input)) return same(input);
  const v = input.normalize('NFKC').replace(BEST_FIT_RE, (c) => BEST_FIT[c] ?? c);
  return result(input, v);
};

const HAS_UPPER = /[A-Z\u00c0-\uffff]/;
export const lowercase: Transform = (input) => {
  if (!HAS_UPPER.test(input)) return same(input);
  return result(input, input.toLowerCase());
};

// JS `\s` covers \t\n\v\f\r, space, NBSP, U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000, U+FEFF.
const WS_RUN = /[\s\u0085\u180e]+/g;
const WS_NEEDS_WORK = /[\t\n\v\f\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u0085\u180e]| {2}/;
const WS_ANY = /[\s\u0085\u180e]/;

// ASCII fast path for the whitespace transforms: kept bytes go to a scratch buffer, decoded once (3-4× faster than a
// global regex replace on a 1 KB value). Values with other characters take the regex.
const ASCII_WS = new Uint8Array(128);
for (const ch of ' \t\n\v\f\r') ASCII_WS[ch.charCodeAt(0)] = 1;
let scratch = new Uint8Array(1 << 16);
const LATIN1 = new TextDecoder('latin1'); // only ASCII bytes are decoded with it

/** `input` with ASCII whitespace runs removed (`keep` false) or made one space; null when `input` is not ASCII. */
function asciiWhitespace(input: string, keep: boolean): string | null {
  const n = input.length;
  if (scratch.length < n) scratch = new Uint8Array(n);
  const buf = scratch;
  const units = codeUnits(input);
  let j = 0;
  let inRun = false;
  for (let i = 0; i < n; i++) {
    const c = units[i];
    if (c >= 128) return null;
    if (ASCII_WS[c] === 1) {
      if (keep && !inRun) buf[j++] = 32;
      inRun = true;
    } else {
      buf[j++] = c;
      inRun = false;
    }
  }
  return LATIN1.decode(buf.subarray(0, j));
}

/** Every run of whitespace (including \v, \f and Unicode spaces) becomes one space. */
export const compressWhitespace: Transform = (input) => {
  if (!WS_NEEDS_WORK.test(input)) return same(input);
  return result(input, asciiWhitespace(input, true) ?? input.replace(WS_RUN, ' '));
};

export const removeWhitespace: Transform = (input) => {
  if (!WS_ANY.test(input)) return same(input);
  return result(input, asciiWhitespace(input, false) ?? input.replace(WS_RUN, ''));
};

export const removeNulls: Transform = (input) => {
  if (input.indexOf('\0') < 0) return same(input);
  return { value: input.replaceAll('\0', ''), changed: true };
};

/**
 * Remove SQL and C comments, each replaced by one space: `/* … *\/` (unterminated: to the end),
 * `-- ` / `#` / `//` to end of line. MySQL executable comments `/*!50000 … *\/` keep their content
 * (the database runs it), only the markers go.
 */
export const removeComments: Transform = (input) => {
  if (input.indexOf('/') < 0 && input.indexOf('-') < 0 && input.indexOf('#') < 0) return same(input);
  const n = input.length;
  let out = '';
  let start = 0;
  let inExec = 0;
  let changed = false;
  let i = 0;
  while (i < n) {
    const c = input.charCodeAt(i);
    const next = i + 1 < n ? input.charCodeAt(i + 1) : 0;
    if (c === 47 /* / */ && next === 42 /* * */) {
      out += input.slice(start, i) + ' ';
      changed = true;
      if (i + 2 < n && input.charCodeAt(i + 2) === 33 /* ! */) {
        i += 3;
        while (i < n && input.charCodeAt(i) >= 48 && input.charCodeAt(i) <= 57) i++;
        inExec++;
        start = i;
        continue;
      }
      const end = input.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      start = i;
      continue;
    }
    if (c === 42 /* * */ && next === 47 && inExec > 0) {
      out += input.slice(start, i) + ' ';
      inExec--;
      changed = true;
      i += 2;
      start = i;
      continue;
    }
    if ((c === 45 /* - */ && next === 45) || c === 35 /* # */ || (c === 47 && next === 47)) {
      out += input.slice(start, i) + ' ';
      changed = true;
      let end = i;
      while (end < n && input.charCodeAt(end) !== 10 && input.charCodeAt(end) !== 13) end++;
      i = end;
      start = i;
      continue;
    }
    i++;
  }
  if (!changed) return same(input);
  return { value: out + input.slice(start), changed: true };
};

/** Only `/* … *\/` comments (unterminated: to the end) become one space; `--`, `#` and `//` stay. */
export const replaceComments: Transform = (input) => {
  let i = input.indexOf('/*');
  if (i < 0) return same(input);
  let out = '';
  let start = 0;
  while (i >= 0) {
    out += input.slice(start, i) + ' ';
    const end = input.indexOf('*/', i + 2);
    start = end < 0 ? input.length : end + 2;
    i = end < 0 ? -1 : input.indexOf('/*', start);
  }
  return { value: out + input.slice(start), changed: true };
};

export const normalizePath: Transform = (input) => result(input, normalizeSlashes(input));

// $IFS / ${IFS} expand to whitespace; $@, $*, ${@}, ${*} and $1..$9 expand to nothing in an injected command line
// (no positional arguments). $IFS$9 is the classic pair: a space, then nothing.
const SHELL_EXPANSIONS = /\$\{IFS\}|\$IFS(?![A-Za-z0-9_])|\$\{[@*1-9]\}|\$[@*1-9](?![0-9])/gi;
// A short lower-case variable glued to the end of a word (cat$u, /etc$x/passwd, uname${z}) is an unset variable
// used as filler: it expands to nothing. Upper-case names ($HOME, $PATH) are set and keep their place.
const UNSET_FILLER = /(?<=[A-Za-z/])(?:\$[a-z_][a-z0-9_]{0,2}|\$\{[a-z_][a-z0-9_]{0,9}\})(?![A-Za-z0-9_])/g;
// A backslash escapes the next character (bash: \c → c; a backslash-newline joins lines). A backslash right after
// a drive letter (C:\) is a Windows path and stays. Quotes are removed wherever they are (the shell joins
// c'a't and /e"t"c into cat and /etc); carets are cmd.exe's escape character (c^a^t).
const SHELL_ESCAPES = /(?<![A-Za-z]:)\\(\r?\n|[\s\S])|['"^]/g;
const CMD_HINT = /[\\"'^$]/;

/**
 * Command-line normalisation: what a shell (bash or cmd.exe) makes of a word before it runs it. `$IFS` and `${IFS}`
 * become a space; `$@`, `$*`, `$1`..`$9` (and their `${}` forms) are dropped, and so is a short lower-case variable
 * glued to the end of a word (`cat$u`: unset, so empty); quotes and carets are removed;
 * a backslash is replaced by the character it escapes (backslash-newline disappears), except right after a drive
 * letter. Separators (`;` `|` `&` newline) and spaces are kept, so signatures still see the command structure;
 * case is kept (chain `lowercase` after it).
 */
export const cmdline: Transform = (input) => {
  if (!CMD_HINT.test(input)) return same(input);
  const v = input
    .replace(SHELL_EXPANSIONS, (m) => (m.length >= 4 && m.toUpperCase().includes('IFS') ? ' ' : ''))
    .replace(UNSET_FILLER, '')
    .replace(SHELL_ESCAPES, (m, escaped: string | undefined) =>
      escaped === undefined ? '' : escaped === '\n' || escaped === '\r\n' ? '' : escaped,
    );
  return result(input, v);
};

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
let b64Bytes = Buffer.allocUnsafeSlow(4096);
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** True when at least 90% of the characters are printable text (or tab/newline) and none is a NUL. */
function looksLikeText(s: string): boolean {
  if (s.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0xfffd) return false;
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || (c >= 0x7f && c < 0xa0)) bad++;
  }
  return bad * 10 <= s.length;
}

/**
 * Decode a value that looks like base64 (standard or URL-safe, ≥ 8 chars) of printable UTF-8 text.
 * Anything else (ordinary words, binary after decoding) comes back unchanged.
 */
export const base64Decode: Transform = (input) => {
  const s = input.trim();
  if (s.length < 8) return same(input);
  if (!B64.test(s) && !B64URL.test(s)) return same(input);
  const body = s.charCodeAt(s.length - 1) === 61 ? s.replace(/=+$/, '') : s;
  if (body.length % 4 === 1) return same(input);
  // isUtf8 instead of a fatal TextDecoder: most base64-looking words are not base64 of text, and a thrown
  // exception per such value was the single largest cost of inspecting a plain GET. Decoded into a reused buffer:
  // most such words (cookie tokens, ids) decode to binary and are dropped, so nothing is allocated for them.
  if (b64Bytes.length < body.length) b64Bytes = Buffer.allocUnsafeSlow(body.length + 1024);
  const bytes = b64Bytes.subarray(0, b64Bytes.write(body, 0, 'base64'));
  if (!isUtf8(bytes)) return same(input);
  const text = bytes.toString('utf8');
  if (!looksLikeText(text)) return same(input);
  return { value: text, changed: true };
};

const HEX_FORMS = /0[xX]((?:[0-9a-fA-F]{2})+)|\\x([0-9a-fA-F]{2})/g;

function hexBytesToString(hex: string): string {
  let out = '';
  for (let i = 0; i + 1 < hex.length; i += 2) {
    out += String.fromCharCode((hexValue(hex.charCodeAt(i)) << 4) | hexValue(hex.charCodeAt(i + 1)));
  }
  return out;
}

/** `0x414243` → `ABC` (SQL hex literals) and `\x41` → `A`; bytes become Latin-1 chars. */
export const hexDecode: Transform = (input) => {
  if (input.indexOf('0x') < 0 && input.indexOf('0X') < 0 && input.indexOf('\\x') < 0) return same(input);
  return result(
    input,
    input.replace(HEX_FORMS, (_m, a: string | undefined, b: string | undefined) =>
      hexBytesToString(a ?? b ?? ''),
    ),
  );
};

const JS_SIMPLE: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' };
const JS_ESCAPE = /\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|([0-7]{1,3})|([\s\S]))/g;

/** JavaScript string escapes: `\xHH`, `\uHHHH`, `\u{H…}`, octal `\NNN`, `\n`-style, and `\c` → `c`. */
export const jsDecode: Transform = (input) => {
  if (input.indexOf('\\') < 0) return same(input);
  const v = input.replace(
    JS_ESCAPE,
    (_m, x: string | undefined, cp: string | undefined, u: string | undefined, oct: string | undefined, ch: string | undefined) => {
      if (x !== undefined) return String.fromCharCode(parseInt(x, 16));
      if (cp !== undefined) {
        const code = parseInt(cp, 16);
        return code <= 0x10ffff ? String.fromCodePoint(code) : '';
      }
      if (u !== undefined) return String.fromCharCode(parseInt(u, 16));
      if (oct !== undefined) {
        const code = parseInt(oct, 8);
        return code === 0 && oct.length === 1 ? '\0' : String.fromCharCode(code & 0xff);
      }
      return JS_SIMPLE[ch as string] ?? (ch as string);
    },
  );
  return result(input, v);
};

/** Every transform by the name signatures use in their `transforms:` list. */
export const transforms: Record<string, Transform> = {
  url_decode: urlDecode,
  url_decode_uni: urlDecodeUni,
  html_entity_decode: htmlEntityDecode,
  unicode_normalize: unicodeNormalize,
  lowercase,
  compress_whitespace: compressWhitespace,
  remove_whitespace: removeWhitespace,
  remove_nulls: removeNulls,
  remove_comments: removeComments,
  replace_comments: replaceComments,
  normalize_path: normalizePath,
  cmdline,
  base64_decode: base64Decode,
  hex_decode: hexDecode,
  js_decode: jsDecode,
};

/** Apply a chain of transforms by name; unknown names throw (the loader checks names at load time). */
export function applyTransforms(input: string, names: readonly string[]): string {
  let v = input;
  for (const name of names) {
    const t = transforms[name];
    if (!t) throw new Error(`unknown transform: ${name}`);
    v = t(v).value;
  }
  return v;
}
