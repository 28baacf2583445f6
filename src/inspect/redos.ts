/**
 * A static check that refuses regexes prone to catastrophic backtracking: nested quantifiers, overlapping
 * alternatives under a quantifier, and adjacent quantifiers that can swap characters.
 */

import { firstChars, intersects, nullable, parseRegex, RegexSyntaxError, setOfChar, type CharSet, type Node } from './regex-ast.ts';

/** A quantifier that can repeat more than this many times counts as "unbounded" for the check. */
const BIG = 20;

export interface RedosProblem {
  kind: 'nested-quantifier' | 'overlapping-alternation' | 'adjacent-quantifiers' | 'syntax';
  detail: string;
}

function emptySet(): CharSet {
  return { ascii: new Uint8Array(128), nonAscii: false };
}
function addTo(a: CharSet, b: CharSet): void {
  for (let c = 0; c < 128; c++) if (b.ascii[c]) a.ascii[c] = 1;
  if (b.nonAscii) a.nonAscii = true;
}

/** Every character the node can consume anywhere in a match. */
function consumable(n: Node, fold: boolean, out: CharSet = emptySet()): CharSet {
  switch (n.type) {
    case 'char': addTo(out, setOfChar(n.ch, fold)); break;
    case 'set': addTo(out, fold ? (firstChars(n, true) as CharSet) : n.set); break;
    case 'seq': for (const it of n.items) consumable(it, fold, out); break;
    case 'alt': for (const a of n.alts) consumable(a, fold, out); break;
    case 'group': if (!n.look) consumable(n.body, fold, out); break;
    case 'repeat': consumable(n.body, fold, out); break;
    case 'backref': for (let c = 0; c < 128; c++) out.ascii[c] = 1; out.nonAscii = true; break;
    case 'assert': break;
  }
  return out;
}

function unwrap(n: Node): Node {
  while (n.type === 'group' && !n.look) n = n.body;
  return n;
}

/** Unbounded repeats inside a node (not crossing into lookarounds). */
function innerRepeats(n: Node, acc: Array<Extract<Node, { type: 'repeat' }>> = []): Array<Extract<Node, { type: 'repeat' }>> {
  switch (n.type) {
    case 'repeat': if (n.max > BIG) acc.push(n); innerRepeats(n.body, acc); break;
    case 'seq': for (const it of n.items) innerRepeats(it, acc); break;
    case 'alt': for (const a of n.alts) innerRepeats(a, acc); break;
    case 'group': innerRepeats(n.body, acc); break;
    default: break;
  }
  return acc;
}

function contains(n: Node, target: Node): boolean {
  if (n === target) return true;
  switch (n.type) {
    case 'seq': return n.items.some((it) => contains(it, target));
    case 'alt': return n.alts.some((a) => contains(a, target));
    case 'group': case 'repeat': return contains(n.body, target);
    default: return false;
  }
}

/**
 * Must every match of `n` (taking, at alternations, the branch that holds `inner`) consume a character
 * that `inner` cannot? Then runs of `inner` cannot spill over iteration boundaries, which are fixed by
 * those separator characters, and nesting does not multiply the ways to match.
 */
function separated(n: Node, inner: Node, innerChars: CharSet, fold: boolean): boolean {
  switch (n.type) {
    case 'char': case 'set': return !intersects(consumable(n, fold), innerChars);
    case 'seq': return n.items.some((it) => separated(it, inner, innerChars, fold));
    case 'alt': {
      const holder = n.alts.find((a) => contains(a, inner));
      return holder ? separated(holder, inner, innerChars, fold) : n.alts.every((a) => separated(a, inner, innerChars, fold));
    }
    case 'group': return !n.look && separated(n.body, inner, innerChars, fold);
    case 'repeat': return n !== inner && n.min >= 1 && separated(n.body, inner, innerChars, fold);
    default: return false;
  }
}

/** Worst-case repetitions, for the cost of two adjacent quantifiers. */
function span(r: { max: number }): number {
  return r.max;
}

/** Does every match start at the beginning of the value (a leading `^` in every branch)? */
function anchored(n: Node): boolean {
  const u = unwrap(n);
  if (u.type === 'alt') return u.alts.every(anchored);
  if (u.type === 'seq') return u.items.length > 0 && anchored(u.items[0]);
  return u.type === 'assert' && u.kind === '^';
}

function check(n: Node, fold: boolean, anchoredStart: boolean, problems: RedosProblem[]): void {
  switch (n.type) {
    case 'repeat': {
      if (n.max > 1) {
        const body = unwrap(n.body);
        for (const inner of innerRepeats(n.body)) {
          if (inner === n) continue;
          if (n.max > BIG || inner.max > BIG) {
            if (!separated(n.body, inner, consumable(inner.body, fold), fold)) {
              problems.push({ kind: 'nested-quantifier', detail: 'a quantified group contains another long quantifier over characters that can also end or start an iteration' });
              return;
            }
          }
        }
        if (n.max > BIG && body.type === 'alt') {
          const firsts = body.alts.map((a) => firstChars(a, fold));
          for (let x = 0; x < firsts.length; x++) {
            for (let y = x + 1; y < firsts.length; y++) {
              const fx = firsts[x], fy = firsts[y];
              if (fx === null || fy === null || intersects(fx, fy)) {
                problems.push({ kind: 'overlapping-alternation', detail: `alternatives ${x + 1} and ${y + 1} under a quantifier can start with the same character` });
                return;
              }
            }
          }
        }
      }
      check(n.body, fold, anchoredStart, problems);
      return;
    }
    case 'seq': {
      // Two long quantifiers with only optional items between them, over overlapping characters: each
      // split of a run between them is tried (polynomial blow-up on long values when the match fails).
      const items = n.items;
      for (let x = 0; x < items.length; x++) {
        const a = unwrap(items[x]);
        if (a.type !== 'repeat' || a.max <= BIG) continue;
        const ca = consumable(a.body, fold);
        for (let y = x + 1; y < items.length; y++) {
          const b = unwrap(items[y]);
          if (b.type === 'repeat' && b.max > BIG && intersects(ca, consumable(b.body, fold))) {
            const cost = span(a) * span(b);
            if (cost === Infinity || (!anchoredStart && cost > 10_000)) {
              problems.push({ kind: 'adjacent-quantifiers', detail: 'two long quantifiers with only optional items between them can trade the same characters' });
              return;
            }
          }
          if (!nullable(items[y])) break;
        }
      }
      for (const it of items) check(it, fold, anchoredStart, problems);
      return;
    }
    case 'alt': for (const a of n.alts) check(a, fold, anchoredStart, problems); return;
    case 'group': check(n.body, fold, anchoredStart, problems); return;
    default: return;
  }
}

/** Problems that make the regex unsafe to run on attacker input (empty array: accepted). */
export function redosProblems(source: string, flags = 'i'): RedosProblem[] {
  let root: Node;
  try {
    root = parseRegex(source);
  } catch (err) {
    if (err instanceof RegexSyntaxError) return [{ kind: 'syntax', detail: `the ReDoS check cannot read this pattern: ${err.message}` }];
    throw err;
  }
  const problems: RedosProblem[] = [];
  check(root, flags.includes('i'), !flags.includes('m') && anchored(root), problems);
  return problems;
}
