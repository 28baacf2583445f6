/** Scan a response body for leaks (the pattern table plus our backends' own addresses) and mask what was found. Pure. */
import { LEAK_PATTERNS, type LeakPattern } from './leak-patterns.ts';

export interface LeakHit {
  id: number;
  name: string;
  family: string;
  start: number;
  end: number;
  matched: string;
}

export interface LeakScanner {
  scan(text: string): LeakHit[];
}

/** Id of the "internal address of a backend" pattern (built per configuration from the upstream origins). */
export const INTERNAL_ADDRESS_ID = 990400;
/** Bound on hits per body (a page full of matches cannot make the list grow without end). */
const MAX_HITS = 10_000;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The pattern matching our backends' addresses: `host:port` when the origin names a port, else `scheme://host`.
 * Hosts are matched on a boundary (10.0.0.5:80 does not match inside 110.0.0.5:8080).
 */
export function internalAddressPattern(origins: readonly string[]): RegExp | null {
  const alts = new Set<string>();
  for (const o of origins) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      continue;
    }
    if (u.port) alts.add(`(?<![\\w.-])${escape(u.hostname)}:${u.port}(?!\\d)`);
    else alts.add(`${escape(u.protocol)}//${escape(u.hostname)}(?![\\w.-])`);
  }
  return alts.size ? new RegExp([...alts].join('|'), 'gi') : null;
}

interface Compiled {
  spec: { id: number; name: string; family: string };
  re: RegExp;
}

export function compileLeakPatterns(patterns: readonly LeakPattern[] = LEAK_PATTERNS, origins: readonly string[] = []): LeakScanner {
  const compiled: Compiled[] = patterns.map((p) => ({ spec: p, re: new RegExp(p.pattern, `g${p.flags ?? ''}`) }));
  const internal = internalAddressPattern(origins);
  if (internal) compiled.push({ spec: { id: INTERNAL_ADDRESS_ID, name: 'Internal address of a backend', family: 'internal-address' }, re: internal });
  return {
    scan(text: string): LeakHit[] {
      const hits: LeakHit[] = [];
      for (const { spec, re } of compiled) {
        re.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = re.exec(text)) !== null) {
          if (m[0].length === 0) {
            re.lastIndex++;
            continue;
          }
          hits.push({ id: spec.id, name: spec.name, family: spec.family, start: m.index, end: m.index + m[0].length, matched: m[0] });
          if (hits.length >= MAX_HITS) return hits;
        }
      }
      return hits;
    },
  };
}

/** Replace every hit with `replacement` (overlapping hits merged). */
export function maskLeaks(text: string, hits: readonly LeakHit[], replacement = '[hidden]'): string {
  if (hits.length === 0) return text;
  const spans = [...hits].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < spans.length) {
    const start = spans[i].start;
    let end = spans[i].end;
    while (i + 1 < spans.length && spans[i + 1].start < end) end = Math.max(end, spans[++i].end);
    i++;
    if (start < pos) continue;
    out += text.slice(pos, start) + replacement;
    pos = end;
  }
  return out + text.slice(pos);
}
