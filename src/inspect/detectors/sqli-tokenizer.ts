/** A small lazy SQL tokenizer (MySQL/PostgreSQL/MSSQL/Oracle/SQLite lexical rules) used by the SQL injection detector. */

/**
 * Token types (one letter each, so a token sequence reads as a fingerprint):
 * s string · n number · b identifier · k keyword · L logical operator · C comparison operator ·
 * A arithmetic/concat operator · f function name (identifier directly followed by `(`) · v variable ·
 * ( ) , ; . punctuation · c comment · U UNION · S SELECT · x anything else.
 */
export type SqlTokenType = 's' | 'n' | 'b' | 'k' | 'L' | 'C' | 'A' | 'f' | 'v' | '(' | ')' | ',' | ';' | '.' | 'c' | 'U' | 'S' | 'x';

/** One token. A class with every field always set, so all tokens share one shape (the analysis reads them a lot). */
export class SqlToken {
  constructor(
    public type: SqlTokenType,
    /** Lower-cased text for words and operators; raw text otherwise. */
    public text: string,
    public start: number,
    public end: number,
    /** True when whitespace or an inline comment separated this token from the previous one. */
    public spaced: boolean,
    /** Strings: no closing quote before the end of input. Comments: `/*` without `*\/`. */
    public open = false,
  ) {}
}

const LOGICAL = new Set(['and', 'or', 'xor', '&&', '||', 'not', '!']);
const COMPARISON_WORDS = new Set(['like', 'rlike', 'regexp', 'ilike', 'glob', 'match', 'in', 'is', 'between', 'sounds', 'notnull', 'isnull', 'similar', 'escape', 'collate']);
const ARITH_WORDS = new Set(['div', 'mod']);
const KEYWORDS = new Set([
  'select', 'union', 'from', 'where', 'all', 'distinct', 'order', 'group', 'by', 'having', 'limit', 'offset', 'into',
  'outfile', 'dumpfile', 'procedure', 'analyse', 'waitfor', 'delay', 'time', 'null', 'true', 'false', 'case', 'when',
  'then', 'else', 'end', 'as', 'join', 'on', 'table', 'database', 'values', 'exists', 'asc', 'desc', 'top', 'insert',
  'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute', 'declare', 'shutdown', 'set', 'grant',
  'revoke', 'rename', 'call', 'load', 'data', 'infile', 'schema', 'user', 'view', 'index', 'trigger', 'function',
  'if', 'begin', 'any', 'some', 'convert', 'cast', 'rownum', 'dual', 'for', 'xml', 'path', 'sleep', 'benchmark',
]);
const COMPARISON_OPS = new Set(['<=>', '<>', '!=', '<=', '>=', '=', '==', '<', '>', '->>', '->', '@>', '<@', '#>', '#>>', '~*', '!~', '!~*', ':=', '?', '?|', '?&']);
// Longest first, so `<=>` wins over `<=` and `<`.
const OPERATORS = ['<=>', '->>', '#>>', '!~*', '<>', '!=', '<=', '>=', '||', '&&', '::', '->', '@>', '<@', ':=', '<<', '>>', '#>', '~*', '!~', '==', '?|', '?&', '?',
  '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!'];
/** An operator with its type and the codes of its second and third characters (-1: none), compared without slicing. */
interface Op { op: string; type: SqlTokenType; c1: number; c2: number }
/** Operators indexed by the char code of their first character (all are ASCII), longest first. */
const OPS_BY_CODE: Array<Op[] | undefined> = [];
for (const op of OPERATORS) {
  const type: SqlTokenType = LOGICAL.has(op) ? 'L' : COMPARISON_OPS.has(op) ? 'C' : 'A';
  const c1 = op.length > 1 ? op.charCodeAt(1) : -1;
  const c2 = op.length > 2 ? op.charCodeAt(2) : -1;
  (OPS_BY_CODE[op.charCodeAt(0)] ??= []).push({ op, type, c1, c2 });
}

// Character classes of ASCII codes, looked up instead of chains of comparisons (the tokenizer's inner loops).
const SPACE = 1;
const DIGIT = 2;
const WORD_START = 4;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 32 || (c >= 9 && c <= 13) || c === 0) ASCII_CLASS[c] = SPACE;
  else if (c >= 48 && c <= 57) ASCII_CLASS[c] = DIGIT;
  else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36) ASCII_CLASS[c] = WORD_START;
}

export function isSpace(c: number): boolean {
  return c < 128 ? ASCII_CLASS[c] === SPACE : c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0x3000 || c === 0xfeff;
}
function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** Letters, `_`, `$`, and any non-ASCII character that is not a space. */
export function isWordStart(c: number): boolean {
  return c < 128 ? ASCII_CLASS[c] === WORD_START : !isSpace(c);
}
export function isWordPart(c: number): boolean {
  return c < 128 ? (ASCII_CLASS[c]! & (WORD_START | DIGIT)) !== 0 : !isSpace(c);
}

/** Every word that is not an identifier, with its type (same precedence as the checks used to have: U, S, L, C, A, k). */
const WORD_TYPES = new Map<string, SqlTokenType>();
for (const [words, type] of [[KEYWORDS, 'k'], [ARITH_WORDS, 'A'], [COMPARISON_WORDS, 'C'], [LOGICAL, 'L'], [['select'], 'S'], [['union'], 'U']] as const) {
  for (const w of words) WORD_TYPES.set(w, type);
}
/** Longer words are identifiers without a lookup. */
let longestTyped = 0;
for (const w of WORD_TYPES.keys()) longestTyped = Math.max(longestTyped, w.length);
const MAX_TYPED_WORD = longestTyped;

/** For each length, a bit per first letter (a-z) that some typed word of that length starts with: most identifiers are ruled out without hashing them. */
const TYPED_FIRST = new Int32Array(MAX_TYPED_WORD + 1);
for (const w of WORD_TYPES.keys()) {
  const c = w.charCodeAt(0) - 97;
  if (c >= 0 && c < 26) TYPED_FIRST[w.length]! |= 1 << c;
}

/** Classifies a lower-cased word into a token type. */
export function wordType(word: string): SqlTokenType {
  const len = word.length;
  if (len > MAX_TYPED_WORD) return 'b';
  const c = word.charCodeAt(0) - 97;
  if (c >= 0 && c < 26 && (TYPED_FIRST[len]! & (1 << c)) === 0) return 'b';
  return WORD_TYPES.get(word) ?? 'b';
}

/**
 * Lazy tokenizer over `src` starting at `pos`. With `quote`, the input starts inside a string
 * opened by that quote character (string context). Tokenization stops at `limit` characters.
 */
export class SqlTokenizer {
  private pos: number;
  private versioned = 0;
  /** Next backslash position as last looked up (-2: not yet, -1: none left); see backslashFrom. */
  private backslash = -2;
  private pendingQuote: number;
  constructor(private readonly src: string, start = 0, quote = 0, private readonly limit = src.length) {
    this.pos = start;
    this.pendingQuote = quote;
  }

  /** Next token, or null at the end of input. */
  next(): SqlToken | null {
    const src = this.src;
    const end = this.limit;
    if (this.pendingQuote) {
      const q = this.pendingQuote;
      this.pendingQuote = 0;
      return this.readString(this.pos, q, this.pos, false);
    }
    let spaced = false;
    for (;;) {
      while (this.pos < end && isSpace(src.charCodeAt(this.pos))) { this.pos++; spaced = true; }
      if (this.pos >= end) return null;
      const c = src.charCodeAt(this.pos);
      const c1 = this.pos + 1 < end ? src.charCodeAt(this.pos + 1) : 0;
      // MySQL versioned comment `/*!50000 code */`: the content is code, the markers are space.
      if (c === 47 && c1 === 42 && this.pos + 2 < end && src.charCodeAt(this.pos + 2) === 33) {
        this.pos += 3;
        while (this.pos < end && isDigit(src.charCodeAt(this.pos))) this.pos++;
        this.versioned++;
        spaced = true;
        continue;
      }
      if (this.versioned > 0 && c === 42 && c1 === 47) { this.pos += 2; this.versioned--; spaced = true; continue; }
      if (c === 47 && c1 === 42) {
        const close = src.indexOf('*/', this.pos + 2);
        if (close >= 0 && close + 2 <= end) {
          // A closed inline comment is only a separator unless it ends the input.
          const after = close + 2;
          let p = after;
          while (p < end && isSpace(src.charCodeAt(p))) p++;
          if (p < end) { this.pos = after; spaced = true; continue; }
          const tok = new SqlToken('c', src.slice(this.pos, after), this.pos, after, spaced);
          this.pos = end;
          return tok;
        }
        const tok = new SqlToken('c', src.slice(this.pos, end), this.pos, end, spaced, true);
        this.pos = end;
        return tok;
      }
      // A line comment followed by more code on the next lines is only a separator (`union#\nselect`).
      if ((c === 45 && c1 === 45) || (c === 35 && c1 !== 62)) {
        const nl = src.indexOf('\n', this.pos);
        if (nl >= 0 && nl < end) {
          let q = nl;
          while (q < end && isSpace(src.charCodeAt(q))) q++;
          if (q < end) { this.pos = q; spaced = true; continue; }
        }
      }
      break;
    }
    const start = this.pos;
    const c = src.charCodeAt(start);
    const c1 = start + 1 < end ? src.charCodeAt(start + 1) : 0;
    // Line comments: `-- ` (any dialect), `#` (MySQL) but not the `#>` / `#>>` JSON operators.
    if ((c === 45 && c1 === 45) || (c === 35 && c1 !== 62)) {
      let p = start;
      while (p < end && src.charCodeAt(p) !== 10) p++;
      this.pos = p;
      return new SqlToken('c', src.slice(start, p), start, p, spaced);
    }
    if (c === 39 || c === 34) return this.readString(start + 1, c, start, spaced);
    if (c === 96) { // backtick identifier
      let p = start + 1;
      while (p < end && src.charCodeAt(p) !== 96) p++;
      this.pos = Math.min(p + 1, end);
      return new SqlToken('b', src.slice(start + 1, p).toLowerCase(), start, this.pos, spaced);
    }
    if (isDigit(c) || (c === 46 && isDigit(c1))) return this.readNumber(start, spaced);
    if (c === 64) { // @var, @@var, @'quoted'
      let p = start + 1;
      if (p < end && src.charCodeAt(p) === 64) p++;
      while (p < end && (isWordPart(src.charCodeAt(p)) || src.charCodeAt(p) === 46)) p++;
      if (p > start + 1 && !(p === start + 2 && src.charCodeAt(start + 1) === 64)) {
        this.pos = p;
        return new SqlToken('v', src.slice(start, p).toLowerCase(), start, p, spaced);
      }
    }
    if (isWordStart(c)) {
      let p = start + 1;
      while (p < end) {
        const d = src.charCodeAt(p);
        if (isWordPart(d)) { p++; continue; }
        // Qualified names `schema.table.fn` stay one identifier.
        if (d === 46 && p + 1 < end && isWordStart(src.charCodeAt(p + 1))) { p += 2; continue; }
        break;
      }
      const word = src.slice(start, p).toLowerCase();
      // String prefixes: N'..', E'..', X'..', B'..', _utf8'..'
      const q = p < end ? src.charCodeAt(p) : 0;
      if (q === 39 && (word === 'n' || word === 'e' || word === 'x' || word === 'b' || word.startsWith('_'))) {
        return this.readString(p + 1, q, start, spaced);
      }
      this.pos = p;
      const type = wordType(word);
      if (q === 40 && (type === 'b' || type === 'k')) return new SqlToken('f', word, start, p, spaced);
      return new SqlToken(type, word, start, p, spaced);
    }
    const ops = c < 128 ? OPS_BY_CODE[c] : undefined;
    if (ops) {
      // The first operator (longest first) whose remaining characters follow, within the limit.
      const c2 = start + 2 < end ? src.charCodeAt(start + 2) : -2;
      for (let k = 0; k < ops.length; k++) {
        const o = ops[k]!;
        if (o.c1 >= 0 && (start + 1 >= end || c1 !== o.c1)) continue;
        if (o.c2 >= 0 && c2 !== o.c2) continue;
        this.pos = start + o.op.length;
        return new SqlToken(o.type, o.op, start, this.pos, spaced);
      }
    }
    this.pos = start + 1;
    const ch = src[start]!;
    // Punctuation is its own type: ( ) , ; .
    const type: SqlTokenType = c === 40 || c === 41 || c === 44 || c === 59 || c === 46 ? (ch as SqlTokenType) : 'x';
    return new SqlToken(type, ch, start, this.pos, spaced);
  }

  private readString(from: number, quote: number, start: number, spaced: boolean): SqlToken {
    const src = this.src;
    const end = this.limit;
    const quoteChar = quote === 39 ? "'" : '"';
    // Jump from one quote or backslash to the next with indexOf (long prose strings are the common case).
    let p = from;
    while (p < end) {
      const backslash = this.backslashFrom(p);
      const q = src.indexOf(quoteChar, p);
      if (backslash >= 0 && backslash < end && (q < 0 || backslash < q)) { p = backslash + 2; continue; } // backslash escape (MySQL default)
      if (q < 0 || q >= end) break;
      if (q + 1 < end && src.charCodeAt(q + 1) === quote) { p = q + 2; continue; } // doubled quote
      this.pos = q + 1;
      return new SqlToken('s', src.slice(from, q), start, q + 1, spaced);
    }
    this.pos = end;
    return new SqlToken('s', src.slice(from, end), start, end, spaced, true);
  }

  /** Index of the first backslash at or after `p` (-1: none). Remembered: positions only move forward, so the value is scanned once. */
  private backslashFrom(p: number): number {
    if (this.backslash !== -1 && this.backslash < p) this.backslash = this.src.indexOf('\\', p);
    return this.backslash;
  }

  private readNumber(start: number, spaced: boolean): SqlToken {
    const src = this.src;
    const end = this.limit;
    let p = start;
    const c1 = p + 1 < end ? src.charCodeAt(p + 1) | 32 : 0;
    if (src.charCodeAt(p) === 48 && (c1 === 120 || c1 === 98)) { // 0x.. / 0b..
      p += 2;
      while (p < end && isHexDigit(src.charCodeAt(p))) p++;
    } else {
      while (p < end && isDigit(src.charCodeAt(p))) p++;
      if (p < end && src.charCodeAt(p) === 46) { p++; while (p < end && isDigit(src.charCodeAt(p))) p++; }
      if (p < end && (src.charCodeAt(p) | 32) === 101) {
        let q = p + 1;
        if (q < end && (src.charCodeAt(q) === 43 || src.charCodeAt(q) === 45)) q++;
        if (q < end && isDigit(src.charCodeAt(q))) { p = q; while (p < end && isDigit(src.charCodeAt(p))) p++; }
      }
    }
    // `1union`, `1or`: MySQL reads a number followed by a word as two tokens, so we do too.
    this.pos = p;
    return new SqlToken('n', src.slice(start, p), start, p, spaced);
  }
}
