/** The operator registry: how a signature's `operator` + `pattern` test one transformed value. */

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { SignatureSpec } from '../types.ts';
import { detectSqli } from './detectors/sqli.ts';
import { detectXss } from './detectors/xss.ts';
import { asciiLiterals, requiredChars, requiredLiterals } from './prefilter.ts';
import { redosProblems } from './redos.ts';

/** What fired: the matched part and where it starts in the value. */
export interface OperatorMatch {
  matched: string;
  index: number;
}

/** A compiled operator: a test, plus the literals (lowercase ASCII, any of) it cannot match without. */
export interface CompiledOperator {
  test(value: string): OperatorMatch | null;
  /** Prefilter: the value must contain one of these, case-insensitively, or `test` cannot match. null: always run. */
  literals: string[] | null;
  /**
   * True when `test` decides the same on an ASCII value and on its lowercase form (a case-insensitive regex, a phrase
   * match): the engine then skips a `lowercase` step on ASCII values for signatures that all have it.
   */
  foldsCase?: boolean;
  /**
   * A second necessary condition, checked inside `test` before the regex runs: the value must hold one of these
   * characters (ASCII, no letters, so case does not matter). Undefined or null: no such check.
   */
  chars?: string[] | null;
  /** Run the matcher itself, skipping `test`'s quick checks (the warm-up: V8 compiles a regex on its first runs). */
  warm?(value: string): void;
}

/**
 * A check that the value holds one of the characters. On a long value, one native scan per character (memchr-like:
 * ~0.1 µs for six characters over 2 KB, where a regex class takes ~1 µs); on a short one, where each scan's call costs
 * more than the characters, one regex class (~25 ns for six characters against ~55 ns; measured over sliced, concatenated
 * and two-byte strings as the engine meets them).
 */
function holdsAnyOf(chars: readonly string[]): (value: string) => boolean {
  const k = chars.length;
  if (k === 1) {
    const c = chars[0];
    return (value) => value.includes(c);
  }
  const cls = new RegExp(`[${chars.map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}]`);
  const short = 8 * k;
  return (value) => {
    if (value.length < short) return cls.test(value);
    for (let i = 0; i < k; i++) if (value.includes(chars[i])) return true;
    return false;
  };
}

/** An operator: validates its pattern (throws an Error whose message says what is wrong) and compiles it. */
export interface Operator {
  describe: string;
  compile(pattern: SignatureSpec['pattern']): CompiledOperator;
}

function needString(p: SignatureSpec['pattern'], op: string): string {
  if (typeof p !== 'string' || p.length === 0) throw new Error(`operator ${op} needs a non-empty string pattern`);
  return p;
}
function needList(p: SignatureSpec['pattern'], op: string): string[] {
  const list = typeof p === 'string' ? p.split(/\s+/).filter(Boolean) : Array.isArray(p) ? p : null;
  if (list === null || list.length === 0 || list.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw new Error(`operator ${op} needs a non-empty list of strings`);
  }
  return list;
}
function needNumber(p: SignatureSpec['pattern'], op: string): number {
  const n = typeof p === 'number' ? p : typeof p === 'string' && p.trim() !== '' ? Number(p) : NaN;
  if (!Number.isFinite(n)) throw new Error(`operator ${op} needs a number`);
  return n;
}

function regex(flags: string): Operator['compile'] {
  return (pattern) => {
    const source = needString(pattern, flags ? 'rx' : 'rx_cs');
    let re: RegExp;
    try {
      re = new RegExp(source, flags);
    } catch (err) {
      throw new Error(`invalid regex: ${(err as Error).message}`);
    }
    const problems = redosProblems(source, flags);
    if (problems.length > 0) throw new Error(`regex refused (ReDoS-prone): ${problems.map((p) => p.detail).join('; ')}`);
    const literals = requiredLiterals(source);
    // Of the conditions the regex implies, the automaton checks one literal set; this one is another, often the
    // punctuation the regex cannot match without (a call's `(`, a shell separator) that benign prose lacks.
    const chars = requiredChars(source, flags, literals);
    const exec = (value: string): OperatorMatch | null => {
      const m = re.exec(value);
      return m === null ? null : { matched: m[0], index: m.index };
    };
    let test = exec;
    if (chars !== null) {
      const holds = holdsAnyOf(chars);
      test = (value) => (holds(value) ? exec(value) : null);
    }
    return {
      literals,
      foldsCase: flags.includes('i'),
      chars,
      test,
      warm: (value) => void re.exec(value),
    };
  };
}

/** Case-insensitive multi-phrase match with one small automaton-free scan per phrase list (the engine's automaton prefilters it). */
function phraseMatch(pattern: SignatureSpec['pattern']): CompiledOperator {
  const phrases = needList(pattern, 'pm').map((p) => p.toLowerCase());
  return {
    literals: asciiLiterals(phrases),
    foldsCase: true,
    test(value) {
      const lower = value.toLowerCase();
      let best: OperatorMatch | null = null;
      for (const p of phrases) {
        const i = lower.indexOf(p);
        if (i >= 0 && (best === null || i < best.index)) best = { matched: value.slice(i, i + p.length), index: i };
      }
      return best;
    },
  };
}

function literalOp(op: string, find: (value: string, p: string) => number): Operator['compile'] {
  return (pattern) => {
    const p = needString(pattern, op);
    return {
      literals: asciiLiterals([p]),
      test(value) {
        const i = find(value, p);
        return i < 0 ? null : { matched: p, index: i };
      },
    };
  };
}

function numeric(op: string, cmp: (a: number, b: number) => boolean): Operator['compile'] {
  return (pattern) => {
    const limit = needNumber(pattern, op);
    return {
      literals: null,
      test(value) {
        const t = value.trim();
        if (t === '' || !/^[+-]?\d+(?:\.\d+)?$/.test(t)) return null;
        const n = Number(t);
        return cmp(n, limit) ? { matched: t, index: value.indexOf(t) } : null;
      },
    };
  };
}

function ipMatch(pattern: SignatureSpec['pattern']): CompiledOperator {
  const list = new BlockList();
  for (const entry of needList(pattern, 'ip_match')) {
    const [addr, bits] = entry.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (type === null) throw new Error(`ip_match: ${entry} is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128)) throw new Error(`ip_match: bad prefix in ${entry}`);
      list.addSubnet(addr, prefix, type);
    }
  }
  return {
    literals: null,
    test(value) {
      const v = value.trim();
      const type = isIPv4(v) ? 'ipv4' : isIPv6(v) ? 'ipv6' : null;
      return type !== null && list.check(v, type) ? { matched: v, index: value.indexOf(v) } : null;
    },
  };
}

function detector(name: string, detect: (v: string) => { matched: string } | null): Operator['compile'] {
  return (pattern) => {
    if (pattern !== undefined && pattern !== null && pattern !== '') throw new Error(`operator ${name} takes no pattern`);
    return {
      literals: null,
      test(value) {
        const d = detect(value);
        if (d === null) return null;
        const i = value.indexOf(d.matched);
        return { matched: d.matched, index: i < 0 ? 0 : i };
      },
    };
  };
}

/** Every operator by the name signatures use. Add one here; the engine loop does not change. */
export const operators: Record<string, Operator> = {
  rx: { describe: 'JS regex, case-insensitive (ReDoS-prone patterns refused)', compile: regex('i') },
  rx_cs: { describe: 'JS regex, case-sensitive', compile: regex('') },
  pm: { describe: 'any of the phrases, case-insensitive', compile: phraseMatch },
  contains: { describe: 'the value contains the string', compile: literalOp('contains', (v, p) => v.indexOf(p)) },
  begins_with: { describe: 'the value starts with the string', compile: literalOp('begins_with', (v, p) => (v.startsWith(p) ? 0 : -1)) },
  ends_with: { describe: 'the value ends with the string', compile: literalOp('ends_with', (v, p) => (v.endsWith(p) ? v.length - p.length : -1)) },
  streq: { describe: 'the value equals the string', compile: literalOp('streq', (v, p) => (v === p ? 0 : -1)) },
  gt: { describe: 'numeric value >', compile: numeric('gt', (a, b) => a > b) },
  ge: { describe: 'numeric value >=', compile: numeric('ge', (a, b) => a >= b) },
  lt: { describe: 'numeric value <', compile: numeric('lt', (a, b) => a < b) },
  le: { describe: 'numeric value <=', compile: numeric('le', (a, b) => a <= b) },
  eq: { describe: 'numeric value ==', compile: numeric('eq', (a, b) => a === b) },
  ip_match: { describe: 'the value is an IP in one of the CIDRs', compile: ipMatch },
  detect_sqli: { describe: 'semantic SQL injection detector', compile: detector('detect_sqli', detectSqli) },
  detect_xss: { describe: 'semantic XSS detector', compile: detector('detect_xss', detectXss) },
  within: {
    describe: 'the value is NOT one of the listed strings (allow-list)',
    compile(pattern) {
      const allowed = new Set(needList(pattern, 'within'));
      return { literals: null, test: (value) => (allowed.has(value) ? null : { matched: value, index: 0 }) };
    },
  },
};

/** Compile a signature's operator; throws with a message naming the problem (unknown operator, bad pattern). */
export function compileOperator(name: string, pattern: SignatureSpec['pattern']): CompiledOperator {
  const op = Object.hasOwn(operators, name) ? operators[name] : undefined;
  if (op === undefined) throw new Error(`unknown operator ${name} (known: ${Object.keys(operators).join(', ')})`);
  return op.compile(pattern);
}
