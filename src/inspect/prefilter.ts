/**
 * Prefilters: the literals a regex cannot match without (for the literal automaton, `literal-matcher.ts`), and the
 * characters it cannot match without (checked before the regex runs).
 */

import { isAscii } from './code-units.ts';
import { parseRegex, smallSetChars, type Node } from './regex-ast.ts';

/** Cap on the strings an exact set may hold (they multiply in sequences). */
const MAX_SET = 64;
/** Cap on a required-literal set (a union over alternatives: it only grows the automaton). */
const MAX_REQ = 512;

interface Info {
  /** The node matches exactly one of these strings (lowercased), or null. */
  exact: string[] | null;
  /** The node cannot match unless the value holds one of these (lowercased), or null. */
  req: string[] | null;
  /** Consumes nothing (assertion, lookaround): does not break a run of literal characters. */
  zeroWidth?: boolean;
}

const NONE: Info = { exact: null, req: null };

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** How selective a literal set is: the length of its shortest member (0 = useless). */
function strength(set: string[] | null): number {
  if (set === null || set.length === 0) return 0;
  let min = Infinity;
  for (const s of set) if (s.length < min) min = s.length;
  return min;
}

/**
 * Rough frequency of each (lowercased) ASCII character in benign request values: English letter frequencies for
 * letters, common URL, header and prose punctuation above rare syntax. Only the order of magnitude matters: it ranks
 * candidate literal sets by how often they would occur in benign text.
 */
const CHAR_FREQ = (() => {
  const f = new Float64Array(128).fill(0.0002);
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const lf = [0.1, 0.07, 0.065, 0.06, 0.06, 0.06, 0.055, 0.05, 0.05, 0.035, 0.033, 0.025, 0.024, 0.02, 0.02, 0.018, 0.017, 0.017, 0.016, 0.012, 0.008, 0.006, 0.001, 0.0015, 0.001, 0.0007];
  for (let i = 0; i < letters.length; i++) f[letters.charCodeAt(i)] = lf[i] * 0.75;
  for (let d = 48; d <= 57; d++) f[d] = 0.01;
  const set = (chars: string, p: number) => { for (const c of chars) f[c.charCodeAt(0)] = p; };
  set(' ', 0.08);
  set('./-_=,', 0.01);
  set(':+%', 0.004);
  set(';&()?@', 0.002);
  set('\'"!#*[]{}<>\n', 0.0005);
  set('|`$^~\\\t\r', 0.0002);
  return f;
})();

/** Expected occurrences per character of benign text of any literal of the set (lower is more selective). */
function weight(set: string[] | null): number {
  if (strength(set) === 0) return Infinity;
  let w = 0;
  for (const lit of set as string[]) {
    let p = 1;
    for (let i = 0; i < lit.length; i++) {
      const c = lit.charCodeAt(i);
      p *= c < 128 ? CHAR_FREQ[c] : 0.001;
    }
    w += p;
  }
  return w;
}

/** The more selective of two required-literal sets (fewer expected benign hits), or null when neither is usable. */
function better(a: string[] | null, b: string[] | null): string[] | null {
  const wa = weight(a), wb = weight(b);
  if (wa === Infinity && wb === Infinity) return null;
  if (wa !== wb) return wa < wb ? a : b;
  return (a as string[]).length <= (b as string[]).length ? a : b;
}

function cross(a: string[], b: string[]): string[] | null {
  if (a.length * b.length > MAX_SET) return null;
  const out: string[] = [];
  for (const x of a) for (const y of b) out.push(x + y);
  return dedupe(out);
}

function info(n: Node): Info {
  switch (n.type) {
    case 'char':
      return isAscii(n.ch) ? { exact: [n.ch.toLowerCase()], req: null } : NONE;
    case 'set': {
      const chars = smallSetChars(n.set, 8);
      if (chars === null) return NONE;
      const lower = dedupe(chars.map((c) => c.toLowerCase()));
      return lower.length <= 4 ? { exact: lower, req: null } : NONE;
    }
    case 'assert':
      return { exact: null, req: null, zeroWidth: true };
    case 'backref':
      return NONE;
    case 'group':
      return n.look ? { exact: null, req: null, zeroWidth: true } : info(n.body);
    case 'repeat': {
      if (n.min === 0) return NONE;
      const inner = info(n.body);
      if (inner.zeroWidth) return { exact: null, req: null, zeroWidth: true };
      let exact: string[] | null = null;
      if (inner.exact && n.min === n.max && n.min <= 4) {
        exact = [''];
        for (let k = 0; k < n.min && exact; k++) exact = cross(exact, inner.exact);
      }
      return { exact, req: better(inner.req, inner.exact) };
    }
    case 'alt': {
      const infos = n.alts.map(info);
      let exact: string[] | null = [];
      let req: string[] | null = [];
      for (const i of infos) {
        if (exact && i.exact) exact.push(...i.exact);
        else exact = null;
        const r = better(i.req, i.exact);
        if (req && r) req.push(...r);
        else req = null;
      }
      if (exact) exact = dedupe(exact);
      if (req) req = dedupe(req);
      if (exact && exact.length > MAX_SET) exact = null;
      if (req && req.length > MAX_REQ) req = null;
      return { exact, req };
    }
    case 'seq': {
      let run: string[] = [''];
      let best: string[] | null = null;
      let broken = false;
      const flush = () => {
        if (strength(run) > 0) best = better(best, run);
        run = [''];
      };
      for (const item of n.items) {
        const i = info(item);
        if (i.zeroWidth) continue;
        if (i.exact) {
          const next = cross(run, i.exact);
          if (next) run = next;
          else {
            flush();
            broken = true;
            run = i.exact;
          }
          continue;
        }
        broken = true;
        flush();
        best = better(best, i.req);
      }
      const exact = broken ? null : run;
      flush();
      return { exact, req: best };
    }
  }
}

/**
 * Literals (lowercase ASCII) of which at least one must occur, case-insensitively, in any string the
 * regex matches; null when no such set exists (the regex must always run).
 */
export function requiredLiterals(source: string): string[] | null {
  let root: Node;
  try {
    root = parseRegex(source);
  } catch {
    return null;
  }
  const i = info(root);
  const set = better(i.req, i.exact);
  return strength(set) > 0 ? set : null;
}

/** Lowercase ASCII phrases for the automaton, or null if any phrase is not ASCII (then the owner always runs). */
export function asciiLiterals(phrases: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const p of phrases) {
    if (p.length === 0 || !isAscii(p)) return null;
    out.push(p.toLowerCase());
  }
  return dedupe(out);
}

/** Cap on the characters of a required-character set: each is one native scan of the value. */
const MAX_CHARS = 8;
/** Candidate sets kept per AST node (the rarest in benign text); alternations combine them pairwise. */
const MAX_CANDIDATES = 8;
/**
 * A required-character set is worth checking only when its characters are rare in benign text: at most this many
 * expected occurrences per character (CHAR_FREQ), e.g. `(` 0.002, `;|&` 0.0042, `-/$<>|` 0.0214; a space is 0.08.
 */
const CHARS_SELECTIVE = 0.05;

/** Expected occurrences per character of benign text of any character of the set. */
function charsWeight(set: string): number {
  let w = 0;
  for (let i = 0; i < set.length; i++) w += CHAR_FREQ[set.charCodeAt(i)];
  return w;
}

/** The set of both (characters sorted by code), or null when it would exceed MAX_CHARS. */
function charsUnion(a: string, b: string): string | null {
  if (a === b) return a;
  const codes = new Set<number>();
  for (let i = 0; i < a.length; i++) codes.add(a.charCodeAt(i));
  for (let i = 0; i < b.length; i++) codes.add(b.charCodeAt(i));
  if (codes.size > MAX_CHARS) return null;
  return String.fromCharCode(...[...codes].sort((x, y) => x - y));
}

/** The rarest distinct sets of a list, at most MAX_CANDIDATES (rarest first; ties: fewer characters, then by text). */
function rarest(list: string[]): string[] {
  const uniq = [...new Set(list)];
  const w = new Map(uniq.map((s) => [s, charsWeight(s)]));
  uniq.sort((a, b) => (w.get(a) as number) - (w.get(b) as number) || a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return uniq.slice(0, MAX_CANDIDATES);
}

/** A character a required-character set may hold: ASCII and not a letter (so no case folding can reach it). */
function plainChar(code: number): boolean {
  return code < 128 && !((code >= 65 && code <= 90) || (code >= 97 && code <= 122));
}

/**
 * Sets of characters (each a string of distinct plain characters, sorted) such that every string the node matches
 * contains at least one character of each set; [] when none is known. Sound by construction:
 * - a character or class: the characters it matches, only when all are plain (no letter: under the `i` flag a letter
 *   also matches its other case; no non-ASCII member: \s, `.`, negated classes match characters we do not list);
 * - a sequence: every item matches a part of the match, so each item's sets hold for the whole (the union of lists);
 * - an alternation: a match is one alternative's match, so a set holds when it includes one set of every
 *   alternative (unions of one candidate per alternative); one alternative with none leaves the alternation with none;
 * - a repeat: its body's sets when it must run at least once (min ≥ 1), none when it may run zero times;
 * - lookarounds, ^, $, \b (zero-width) and back-references (any text, also empty): none.
 */
function charCandidates(n: Node): string[] {
  switch (n.type) {
    case 'char': {
      const c = n.ch.charCodeAt(0);
      return n.ch.length === 1 && plainChar(c) ? [n.ch] : [];
    }
    case 'set': {
      if (n.set.nonAscii) return [];
      let s = '';
      for (let c = 0; c < 128; c++) {
        if (!n.set.ascii[c]) continue;
        if (!plainChar(c) || s.length === MAX_CHARS) return [];
        s += String.fromCharCode(c);
      }
      return s === '' ? [] : [s]; // an empty class matches nothing: left alone rather than made a set no value passes
    }
    case 'assert':
    case 'backref':
      return [];
    case 'group':
      return n.look ? [] : charCandidates(n.body);
    case 'repeat':
      return n.min === 0 ? [] : charCandidates(n.body);
    case 'seq': {
      const all: string[] = [];
      for (const it of n.items) all.push(...charCandidates(it));
      return rarest(all);
    }
    case 'alt': {
      let acc: string[] | null = null;
      for (const a of n.alts) {
        const mine = charCandidates(a);
        if (mine.length === 0) return [];
        if (acc === null) {
          acc = mine;
          continue;
        }
        const next: string[] = [];
        for (const u of acc) for (const x of mine) {
          const both = charsUnion(u, x);
          if (both !== null) next.push(both);
        }
        if (next.length === 0) return [];
        acc = rarest(next);
      }
      return acc ?? [];
    }
  }
}

/**
 * Characters (ASCII, no letters) of which at least one occurs in every string the regex matches, with any flags
 * but u and v (whose syntax the parser does not read): a check that costs a few native scans of the value before
 * the regex runs. Null when no such set is known, when the rarest one is not selective (CHARS_SELECTIVE), or when
 * `literals` (the automaton's condition: one of them occurs) already implies it, every literal holding one of its
 * characters. The characters are ordered most frequent first (a value that holds one is found out soonest).
 */
export function requiredChars(source: string, flags = '', literals: readonly string[] | null = null): string[] | null {
  if (/[uv]/.test(flags)) return null;
  let root: Node;
  try {
    root = parseRegex(source);
  } catch {
    return null;
  }
  for (const set of charCandidates(root)) {
    if (charsWeight(set) > CHARS_SELECTIVE) break; // candidates come rarest first
    const chars = [...set];
    if (literals !== null && literals.length > 0 && literals.every((lit) => chars.some((c) => lit.includes(c)))) continue;
    return chars.sort((a, b) => CHAR_FREQ[b.charCodeAt(0)] - CHAR_FREQ[a.charCodeAt(0)] || a.charCodeAt(0) - b.charCodeAt(0));
  }
  return null;
}
