/** Literal prefilters: the literals a regex cannot match without, and one Aho-Corasick automaton per rule group. */

import { codeUnits } from './code-units.ts';
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

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

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

/** The tables of a built automaton. */
export interface MatcherTables {
  /** delta[state × width + cls[c]]: the next state. */
  delta: Uint16Array | Uint32Array;
  /** Character class of each ASCII code (ASCII case folded; 0: a character no literal holds). */
  cls: Uint8Array;
  width: number;
  /** States from this one on mark owners: `out[state - outStart]`. */
  outStart: number;
  out: Int32Array[];
  owners: number;
}

/** States (or literals) handled between two yields of `matcherSteps`: well under a millisecond of work. */
const STEP_STATES = 256;

/** The ASCII literals (lowercased) of the entries, with their owner; literals with other characters are dropped. */
function asciiEntries(entries: Array<{ owner: number; literals: readonly string[] }>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const { owner, literals } of entries) for (const lit of literals) if (isAscii(lit)) out.push([lit.toLowerCase(), owner]);
  return out;
}

/**
 * The automaton's construction as resumable steps: it yields every few hundred states, so a caller that must not
 * block (the hot-reload compile) can give the event loop a turn between steps; the return value is the tables.
 * The transition table is allocated once at its exact size (states are counted on the sorted literals) over a
 * compressed alphabet (only the characters the literals use), so a large automaton costs a few MB, not tens.
 */
export function* matcherSteps(entries: Array<{ owner: number; literals: readonly string[] }>): Generator<void, MatcherTables> {
  let owners = 0;
  for (const e of entries) owners = Math.max(owners, e.owner + 1);
  const lits = asciiEntries(entries);
  lits.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  yield;
  // Alphabet: a class per character used (upper and lower case share one), 0 for every other character.
  const cls = new Uint8Array(128);
  let width = 1;
  // States: in sorted order, each literal adds the characters past its common prefix with the previous one.
  let n = 1;
  let prev = '';
  for (const [lit] of lits) {
    let common = 0;
    while (common < lit.length && common < prev.length && lit.charCodeAt(common) === prev.charCodeAt(common)) common++;
    n += lit.length - common;
    prev = lit;
    for (let k = 0; k < lit.length; k++) {
      const c = lit.charCodeAt(k);
      if (cls[c] === 0) {
        cls[c] = width;
        if (c >= 97 && c <= 122) cls[c - 32] = width;
        else if (c >= 65 && c <= 90) cls[c + 32] = width;
        width++;
      }
    }
  }
  yield;
  // The trie, built straight into the transition table (0 = no edge yet: the root is nobody's child).
  const delta = new Int32Array(n * width);
  const own: Array<number[] | null> = new Array(n).fill(null);
  let next = 1;
  let work = 0;
  for (const [lit, owner] of lits) {
    if (++work % STEP_STATES === 0) yield;
    let s = 0;
    for (let k = 0; k < lit.length; k++) {
      const at = s * width + cls[lit.charCodeAt(k)];
      let nx = delta[at];
      if (nx === 0) delta[at] = nx = next++;
      s = nx;
    }
    const list = own[s];
    if (list === null) own[s] = [owner];
    else if (!list.includes(owner)) list.push(owner);
  }
  const fail = new Int32Array(n);
  const order = new Int32Array(n);
  let tail = 0;
  for (let c = 0; c < width; c++) if (delta[c] !== 0) order[tail++] = delta[c];
  // Breadth first: a missing edge of a state is its failure state's (already complete) edge.
  for (let q = 0; q < tail; q++) {
    if ((q + 1) % STEP_STATES === 0) yield;
    const s = order[q];
    const f = fail[s];
    const inherited = own[f];
    if (inherited !== null) {
      const mine = own[s];
      own[s] = mine === null ? inherited : [...new Set([...mine, ...inherited])];
    }
    const row = s * width;
    const frow = f * width;
    for (let c = 0; c < width; c++) {
      const nx = delta[row + c];
      if (nx !== 0) {
        fail[nx] = delta[frow + c];
        order[tail++] = nx;
      } else delta[row + c] = delta[frow + c];
    }
  }
  // Renumber the states for the scan: those that mark no owner first, then those that do (so `state >= outStart` is
  // the only test), each part breadth first (the shallow states, where benign text spends its time, share cache
  // lines). State numbers fit 16 bits on any library we ship, which halves the table against 32-bit entries.
  const id = new Int32Array(n);
  let plain = 1; // the root (0) marks nothing and keeps 0
  for (let q = 0; q < tail; q++) if (own[order[q]] === null) id[order[q]] = plain++;
  const outStart = plain;
  let marking = outStart;
  const out: Int32Array[] = new Array(n - outStart);
  for (let q = 0; q < tail; q++) {
    if ((q + 1) % (STEP_STATES * 16) === 0) yield;
    const list = own[order[q]];
    if (list === null) continue;
    id[order[q]] = marking;
    out[marking - outStart] = Int32Array.from(list);
    marking++;
  }
  const table = n <= 0x10000 ? new Uint16Array(n * width) : new Uint32Array(n * width);
  for (let s = 0; s < n; s++) {
    if ((s + 1) % STEP_STATES === 0) yield;
    const from = s * width;
    const to = id[s] * width;
    for (let c = 0; c < width; c++) table[to + c] = id[delta[from + c]];
  }
  return { delta: table, cls, width, outStart, out, owners };
}

/**
 * One Aho-Corasick automaton over the literals of many owners (signatures), folding ASCII case.
 * `scan` marks every owner one of whose literals occurs in the value, in one pass over it.
 */
export class LiteralMatcher {
  private readonly delta: Uint16Array | Uint32Array;
  private readonly cls: Uint8Array;
  private readonly width: number;
  private readonly outStart: number;
  /** Owners whose literal ends at each marking state (including through suffix links). */
  private readonly out: Int32Array[];
  /**
   * Marking states already reported in the current scan (by state - outStart), and which: benign text passes through
   * a few common marking states (a quote, a comma) every few characters, and each visit after the first adds nothing.
   */
  private readonly reported: Uint8Array;
  private readonly reportedList: Int32Array;
  /** The same for the second walk of `scanTwoWays`. */
  private readonly reported2: Uint8Array;
  private readonly reportedList2: Int32Array;
  readonly owners: number;

  /** Built at once from `entries`, or from the tables `matcherSteps(entries)` returned. */
  constructor(entries: Array<{ owner: number; literals: readonly string[] }>, tables?: MatcherTables) {
    let t = tables;
    if (t === undefined) {
      const steps = matcherSteps(entries);
      let r = steps.next();
      while (!r.done) r = steps.next();
      t = r.value;
    }
    this.delta = t.delta;
    this.cls = t.cls;
    this.width = t.width;
    this.outStart = t.outStart;
    this.out = t.out;
    this.owners = t.owners;
    this.reported = new Uint8Array(t.out.length);
    this.reportedList = new Int32Array(t.out.length);
    this.reported2 = new Uint8Array(t.out.length);
    this.reportedList2 = new Int32Array(t.out.length);
  }

  /**
   * Mark in `hit` (indexed by owner) every owner with a literal in `value`, also pushing it on `marked` when
   * given (so the caller can clear just those); returns how many were newly marked.
   */
  scan(value: string, hit: Uint8Array, marked?: number[]): number {
    const delta = this.delta;
    const cls = this.cls;
    const width = this.width;
    const outStart = this.outStart;
    const out = this.out;
    const reported = this.reported;
    const reportedList = this.reportedList;
    let nReported = 0;
    let state = 0;
    let count = 0;
    const units = codeUnits(value);
    const n = value.length;
    for (let i = 0; i < n; i++) {
      const c = units[i];
      if (c >= 128) {
        state = 0;
        continue;
      }
      state = delta[state * width + cls[c]];
      if (state < outStart) continue;
      const x = state - outStart;
      if (reported[x] !== 0) continue;
      reported[x] = 1;
      reportedList[nReported++] = x;
      const o = out[x];
      for (let k = 0; k < o.length; k++) {
        if (hit[o[k]] === 0) {
          hit[o[k]] = 1;
          count++;
          if (marked !== undefined) marked.push(o[k]);
        }
      }
      if (count === this.owners) break;
    }
    for (let k = 0; k < nReported; k++) reported[reportedList[k]] = 0;
    return count;
  }
  /** Character bits of the last `scanWithBits`. */
  charBits = 0;

  /**
   * `scan`, and in the same pass the OR of `table[c]` over the value's ASCII code units (`nonAscii` for any other
   * unit), left in `charBits`: the engine's trigger bits of a raw value come with its literal scan.
   */
  scanWithBits(value: string, hit: Uint8Array, marked: number[], table: Uint16Array, nonAscii: number): number {
    const delta = this.delta;
    const cls = this.cls;
    const width = this.width;
    const outStart = this.outStart;
    const out = this.out;
    const reported = this.reported;
    const reportedList = this.reportedList;
    let nReported = 0;
    let state = 0;
    let count = 0;
    let bits = 0;
    const units = codeUnits(value);
    const n = value.length;
    for (let i = 0; i < n; i++) {
      const c = units[i];
      if (c >= 128) {
        bits |= nonAscii;
        state = 0;
        continue;
      }
      bits |= table[c];
      state = delta[state * width + cls[c]];
      if (state < outStart) continue;
      const x = state - outStart;
      if (reported[x] !== 0) continue;
      reported[x] = 1;
      reportedList[nReported++] = x;
      const o = out[x];
      for (let k = 0; k < o.length; k++) {
        if (hit[o[k]] === 0) {
          hit[o[k]] = 1;
          count++;
          marked.push(o[k]);
        }
      }
    }
    for (let k = 0; k < nReported; k++) reported[reportedList[k]] = 0;
    this.charBits = bits;
    return count;
  }
  /**
   * `scanWithBits`, plus in the same pass a second walk over the value as if the ASCII characters `skip` marks were
   * not there (marks in `hit2`/`marked2`): the literals of the value with its whitespace removed, without making that
   * string. Two independent walks in one loop cost far less than two loops (the CPU overlaps them).
   */
  scanTwoWays(value: string, hit: Uint8Array, marked: number[], table: Uint16Array, nonAscii: number, skip: Uint8Array, hit2: Uint8Array, marked2: number[]): void {
    const delta = this.delta;
    const cls = this.cls;
    const width = this.width;
    const outStart = this.outStart;
    const out = this.out;
    const reported = this.reported;
    const reportedList = this.reportedList;
    let nReported = 0;
    let state = 0;
    let bits = 0;
    const units = codeUnits(value);
    const n = value.length;
    // Up to the first skipped character both walks are one: a single walk, whose marks then count for both.
    let i = 0;
    for (; i < n; i++) {
      const c = units[i];
      if (c >= 128) {
        bits |= nonAscii;
        state = 0;
        continue;
      }
      if (skip[c] !== 0) break;
      bits |= table[c];
      state = delta[state * width + cls[c]];
      if (state < outStart) continue;
      const x = state - outStart;
      if (reported[x] !== 0) continue;
      reported[x] = 1;
      reportedList[nReported++] = x;
      const o = out[x];
      for (let q = 0; q < o.length; q++) {
        if (hit[o[q]] === 0) {
          hit[o[q]] = 1;
          marked.push(o[q]);
        }
      }
    }
    if (i < n) {
      for (let q = 0; q < marked.length; q++) {
        hit2[marked[q]] = 1;
        marked2.push(marked[q]);
      }
      const reported2 = this.reported2;
      const reportedList2 = this.reportedList2;
      let nReported2 = 0;
      for (let q = 0; q < nReported; q++) {
        reported2[reportedList[q]] = 1;
        reportedList2[nReported2++] = reportedList[q];
      }
      let state2 = state;
      for (; i < n; i++) {
        const c = units[i];
        if (c >= 128) {
          bits |= nonAscii;
          state = 0;
          state2 = 0;
          continue;
        }
        bits |= table[c];
        const k = cls[c];
        state = delta[state * width + k];
        if (skip[c] === 0) state2 = delta[state2 * width + k];
        if (state >= outStart) {
          const x = state - outStart;
          if (reported[x] === 0) {
            reported[x] = 1;
            reportedList[nReported++] = x;
            const o = out[x];
            for (let q = 0; q < o.length; q++) {
              if (hit[o[q]] === 0) {
                hit[o[q]] = 1;
                marked.push(o[q]);
              }
            }
          }
        }
        if (state2 >= outStart) {
          const x = state2 - outStart;
          if (reported2[x] === 0) {
            reported2[x] = 1;
            reportedList2[nReported2++] = x;
            const o = out[x];
            for (let q = 0; q < o.length; q++) {
              if (hit2[o[q]] === 0) {
                hit2[o[q]] = 1;
                marked2.push(o[q]);
              }
            }
          }
        }
      }
      for (let q = 0; q < nReported2; q++) reported2[reportedList2[q]] = 0;
    }
    for (let q = 0; q < nReported; q++) reported[reportedList[q]] = 0;
    this.charBits = bits;
  }




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
