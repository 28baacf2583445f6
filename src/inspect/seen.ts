/**
 * What one request knows about each distinct string it holds (a target's value, or what a transform made of one):
 * its trigger bits, literal marks, the results of transform steps and chains, the signatures already tested on it and
 * where it was evaluated. Records live for one request (a SeenCache), so each decode and scan is done once per string.
 */

import type { Where } from './clean-memo.ts';
import type { LiteralMatcher } from './literal-matcher.ts';
import type { Group } from './plan.ts';
import { lowercase } from './transforms.ts';
import { T_ALL, T_NONASCII, T_WS } from './triggers.ts';

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * What one request knows about a string (a target's value, or a value a transform produced): computed once per
 * distinct string, whatever number of targets, collections and chains hold it.
 */
export interface Seen {
  value: string;
  /** Trigger bits (valueTriggers), or -1 before they are needed. */
  bits: number;
  /** Results of whole chains (by `Group.chainId`). */
  chains: Array<Seen | undefined> | null;
  /** Results of single transforms (by `Group.stepIds`). */
  steps: Array<Seen | undefined> | null;
  /** Signatures (by index, one bit each) already tested on this string without a match. */
  tested: Int32Array | null;
  /** Signatures (by index, ascending) one of whose literals occurs in this string, once scanned. */
  marks: number[] | null;
  /** The same for this string without its whitespace (when scanned through the whitespace lens), else null. */
  wsMarks: number[] | null;
  /**
   * `marks` and `wsMarks` by a list's own automaton (`EntryList.narrow`, named by `nOf`): only that list's signatures.
   */
  nMarks: number[] | null;
  nWsMarks: number[] | null;
  nOf: LiteralMatcher | null;
  /**
   * The ASCII string this one is the lowercase of: the literal scan folds ASCII case, so both have the same marks
   * and only one is scanned.
   */
  caseOf: Seen | null;
  /** Where a target with this value was already evaluated in this request (see `evaluatedBefore`): -1 nowhere yet. */
  doneC: number;
  doneKey: string | null;
  doneMore: Set<Where> | null;
}

/**
 * Strings up to this length are shared by content: the same string met again in the request (as another target's
 * value, or made by a transform) gets the same record. Longer ones (a body) are not: they are reached through the
 * target and the chain instead.
 */
const SHARED_MAX = 16 * 1024;
/**
 * Strings up to this length are found by hash (a Map keyed by the string; V8 hashes every character of a new
 * string once). Longer ones are found by length, then compared (which stops at the first difference): hashing a
 * 2 KB comment costs more than comparing it. Past SAME_LENGTH_MAX distinct values of one length, the others are
 * found by hash, so a request full of long values of one length stays linear.
 */
const HASHED_MAX = 256;
const SAME_LENGTH_MAX = 8;

export interface SeenCache {
  byValue: Map<string, Seen>;
  byLength: Map<number, Seen[]>;
}

function newSeen(v: string): Seen {
  return { value: v, bits: -1, chains: null, steps: null, tested: null, marks: null, wsMarks: null, nMarks: null, nWsMarks: null, nOf: null, caseOf: null, doneC: -1, doneKey: null, doneMore: null };
}

export function seenOf(cache: SeenCache, v: string): Seen {
  const n = v.length;
  if (n <= HASHED_MAX) {
    let s = cache.byValue.get(v);
    if (s === undefined) cache.byValue.set(v, (s = newSeen(v)));
    return s;
  }
  if (n > SHARED_MAX) return newSeen(v);
  const list = cache.byLength.get(n);
  if (list === undefined) {
    const s = newSeen(v);
    cache.byLength.set(n, [s]);
    return s;
  }
  for (let i = 0; i < list.length; i++) if (list[i].value === v) return list[i];
  if (list.length < SAME_LENGTH_MAX) {
    const s = newSeen(v);
    list.push(s);
    return s;
  }
  // Many distinct values of one length: by hash, as the short ones.
  let s = cache.byValue.get(v);
  if (s === undefined) cache.byValue.set(v, (s = newSeen(v)));
  return s;
}

/**
 * A target's value after a transform chain, computed once per distinct value and chain per request (the same
 * value often appears as `args`, `args_post` and `json`), and step by step once per distinct intermediate value and
 * transform: chains that differ only by steps that leave a value unchanged share the rest of the work.
 */
export function transformed(cache: SeenCache, seen: Seen, g: Group, bitsOfMade: (vs: Seen, g: Group) => number): Seen {
  const chain = g.chain;
  if (chain.length === 0) return seen;
  const chains = (seen.chains ??= []);
  const full = chains[g.chainId];
  if (full !== undefined) return full;
  const at = walk(cache, seen, g, chain.length, bitsOfMade);
  chains[g.chainId] = at;
  return at;
}

/**
 * The value after the first `end` steps of a group's chain. A step none of whose triggers the value holds cannot
 * change it and is skipped; a step that changes it (a decode can bring in any character) makes a new value, whose
 * own trigger bits decide the next steps (computed by `bitsOfMade` when a step needs them).
 */
function walk(cache: SeenCache, seen: Seen, g: Group, end: number, bitsOfMade: (vs: Seen, g: Group) => number): Seen {
  let at = seen;
  // `b`: trigger bits of `at` (-1, every bit, while unknown).
  let b = seen.bits;
  for (let k = 0; k < end; k++) {
    // T_ALL (lowercase for case-sensitive operators) runs even on a value with no trigger bit at all.
    const st = g.stepTriggers[k];
    if (st !== T_ALL) {
      if (b < 0) b = at.bits >= 0 ? at.bits : bitsOfMade(at, g);
      if ((b & st) === 0) continue;
    }
    const fn = g.chain[k];
    const steps = (at.steps ??= []);
    const sid = g.stepIds[k];
    let next = steps[sid];
    if (next === undefined) {
      const r = fn(at.value);
      next = r.changed && r.value !== at.value ? seenOf(cache, r.value) : at;
      // An ASCII value's lowercase has its literal marks (the scan folds case).
      if (fn === lowercase && next !== at && next.caseOf === null && (b >= 0 ? (b & T_NONASCII) === 0 : !NON_ASCII.test(at.value))) next.caseOf = at;
      steps[sid] = next;
    }
    if (next !== at) {
      at = next;
      b = at.bits;
    }
  }
  return at;
}

/**
 * Where the whitespace lens sees through this group's chain on this value: the value just before its
 * `remove_whitespace` when that is ASCII and holds whitespace (see `whitespaceLens`), else null.
 */
export function lensPoint(cache: SeenCache, seen: Seen, g: Group, bits: number, bitsOfMade: (vs: Seen, g: Group) => number): Seen | null {
  if ((bits & g.lensMask) === 0) return (bits & T_WS) !== 0 ? seen : null;
  const at = walk(cache, seen, g, g.wsStep, bitsOfMade);
  const b = at.bits >= 0 ? at.bits : bitsOfMade(at, g);
  return (b & T_WS) !== 0 && (b & g.tailMask) === 0 ? at : null;
}

/**
 * Whether a target of collection `c` (with `key` when keys count, else null) holding this value was already
 * evaluated in this request; records it when not. The first place is kept in two fields (no string is built for the
 * common case of a value seen once), further ones in a set.
 */
export function evaluatedBefore(seen: Seen, c: number, key: string | null): boolean {
  if (seen.doneC < 0) {
    seen.doneC = c;
    seen.doneKey = key;
    return false;
  }
  if (seen.doneC === c && seen.doneKey === key) return true;
  const where: Where = key === null ? c : `${c}:${key}`;
  if (seen.doneMore === null) {
    seen.doneMore = new Set([where]);
    return false;
  }
  if (seen.doneMore.has(where)) return true;
  seen.doneMore.add(where);
  return false;
}

/** Whether a value was evaluated as a keyless target of one of these collections in this request. */
export function evaluatedIn(seen: Seen, collections: number[]): boolean {
  if (seen.doneC < 0) return false;
  for (const q of collections) {
    if (seen.doneC === q && seen.doneKey === null) return true;
    if (seen.doneMore !== null && seen.doneMore.has(q)) return true;
  }
  return false;
}
