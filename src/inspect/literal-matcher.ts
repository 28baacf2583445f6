/**
 * The literal automaton: one Aho-Corasick automaton over the literals of many owners (signatures), folding ASCII case,
 * built in resumable steps, and its scans (with trigger bits, and through the whitespace lens).
 */

import { codeUnits, isAscii } from './code-units.ts';

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
  /** Marking states already reported in the current scan (one per walk: `scanTwoWays` makes two). */
  private readonly first: Reporter;
  private readonly second: Reporter;
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
    this.first = new Reporter(t.out);
    this.second = new Reporter(t.out);
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
    const first = this.first;
    const done = first.done;
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
      if (state < outStart || done[state - outStart] !== 0) continue;
      count += first.report(state - outStart, hit, marked);
      if (count === this.owners) break;
    }
    first.clear();
    return count;
  }

  /** Character bits of the last `scanWithBits` or `scanTwoWays`. */
  charBits = 0;

  /**
   * `scan`, and in the same pass the OR of `table[c]` over the value's ASCII code units (`nonAscii` for any other
   * unit), left in `charBits`: the engine's trigger bits of a raw value come with its literal scan.
   */
  scanWithBits(value: string, hit: Uint8Array, marked: number[], table: Uint16Array, nonAscii: number): void {
    // With nothing to skip, the second walk never starts.
    this.scanTwoWays(value, hit, marked, table, nonAscii, SKIP_NOTHING, hit, marked);
  }

  /**
   * `scanWithBits`, plus in the same pass a second walk over the value as if the ASCII characters `skip` marks were
   * not there (marks in `hit2`/`marked2`): the literals of the value with its whitespace removed, without making that
   * string. Two independent walks in one loop cost far less than two loops (the CPU overlaps them). Up to the first
   * skipped character both walks are one, so a value without any costs one walk.
   */
  scanTwoWays(value: string, hit: Uint8Array, marked: number[], table: Uint16Array, nonAscii: number, skip: Uint8Array, hit2: Uint8Array, marked2: number[]): void {
    const delta = this.delta;
    const cls = this.cls;
    const width = this.width;
    const outStart = this.outStart;
    const first = this.first;
    const done = first.done;
    let state = 0;
    let bits = 0;
    const units = codeUnits(value);
    const n = value.length;
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
      if (state >= outStart && done[state - outStart] === 0) first.report(state - outStart, hit, marked);
    }
    if (i < n) {
      // The walks part here: the second starts from the first's state and marks.
      const second = this.second;
      const done2 = second.done;
      second.copy(first, hit2, marked2);
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
        if (state >= outStart && done[state - outStart] === 0) first.report(state - outStart, hit, marked);
        if (state2 >= outStart && done2[state2 - outStart] === 0) second.report(state2 - outStart, hit2, marked2);
      }
      second.clear();
    }
    first.clear();
    this.charBits = bits;
  }
}

const SKIP_NOTHING = new Uint8Array(128);

/**
 * The marking states one walk of a scan has reported, so each reports its owners once per scan: benign text passes
 * through a few common marking states (a quote, a comma) every few characters, and each visit after the first adds
 * nothing.
 */
class Reporter {
  /** By state - outStart: 1 once reported in this scan (read by the scan loops, so a repeat costs no call). */
  readonly done: Uint8Array;
  private readonly list: Int32Array;
  private n = 0;
  constructor(private readonly out: Int32Array[]) {
    this.done = new Uint8Array(out.length);
    this.list = new Int32Array(out.length);
  }

  /** Mark the owners of marking state `x` (state - outStart) not yet in `hit`; returns how many were new. */
  report(x: number, hit: Uint8Array, marked: number[] | undefined): number {
    if (this.done[x] !== 0) return 0;
    this.done[x] = 1;
    this.list[this.n++] = x;
    const o = this.out[x];
    let count = 0;
    for (let k = 0; k < o.length; k++) {
      if (hit[o[k]] === 0) {
        hit[o[k]] = 1;
        count++;
        if (marked !== undefined) marked.push(o[k]);
      }
    }
    return count;
  }

  /** Start where `other` stands: its states reported, their owners in `hit`/`marked`. */
  copy(other: Reporter, hit: Uint8Array, marked: number[]): void {
    for (let k = 0; k < other.n; k++) this.report(other.list[k], hit, marked);
  }

  clear(): void {
    for (let k = 0; k < this.n; k++) this.done[this.list[k]] = 0;
    this.n = 0;
  }
}
