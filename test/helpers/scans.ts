// The literal automaton's scans as plain results (marks sorted, flags cleared), for tests that compare them.
import type { LiteralMatcher } from '../../src/inspect/literal-matcher.ts';
import { ASCII_BITS, ASCII_WS, finishTriggers, T_NONASCII } from '../../src/inspect/triggers.ts';

const hit = new Uint8Array(1 << 16);
const hit2 = new Uint8Array(1 << 16);

function taken(marked: number[], flags: Uint8Array): number[] {
  for (const i of marked) flags[i] = 0;
  return marked.sort((a, b) => a - b);
}

/** The owners `scan` marks in `v`. */
export function scanMarks(m: LiteralMatcher, v: string): number[] {
  const marked: number[] = [];
  m.scan(v, hit, marked);
  return taken(marked, hit);
}

/** What `scanWithBits` finds in `v`: its marks and the trigger bits they come with. */
export function scanWithBits(m: LiteralMatcher, v: string): { marks: number[]; bits: number } {
  const marked: number[] = [];
  m.scanWithBits(v, hit, marked, ASCII_BITS, T_NONASCII);
  return { marks: taken(marked, hit), bits: finishTriggers(v, m.charBits) };
}

/** What `scanTwoWays` finds in `v` with ASCII whitespace skipped by the second walk. */
export function scanTwoWays(m: LiteralMatcher, v: string): { marks: number[]; bits: number; withoutWhitespace: number[] } {
  const marked: number[] = [];
  const marked2: number[] = [];
  m.scanTwoWays(v, hit, marked, ASCII_BITS, T_NONASCII, ASCII_WS, hit2, marked2);
  return { marks: taken(marked, hit), bits: finishTriggers(v, m.charBits), withoutWhitespace: taken(marked2, hit2) };
}
