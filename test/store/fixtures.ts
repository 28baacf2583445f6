/** Test fixtures for the store: a small signature library and a minimal regex compiler standing in for the engine in unit tests. */
import type { SignatureSpec } from '../../src/types.ts';
import { overridesById, type SnapshotContent } from '../../src/store/snapshot.ts';

export const spec = (id: number, pattern: string, extra: Partial<SignatureSpec> = {}): SignatureSpec => ({
  id, name: `sig ${id}`, family: 'test', paranoia: 1, severity: 'critical', targets: ['args'], transforms: [],
  operator: 'rx', pattern, tags: ['attack-test'], examples: { match: ['/?q=attack'], pass: ['/?q=fine'] }, ...extra,
});

export const LIBRARY: SignatureSpec[] = [
  spec(900100, 'union\\s+select', { family: 'sqli', tags: ['attack-sqli'] }),
  spec(900200, '<script', { family: 'xss', tags: ['attack-xss'] }),
  spec(900300, '\\.\\./', { family: 'lfi', tags: ['attack-lfi'], paranoia: 2 }),
];

export const baseContent = (): SnapshotContent => ({ signatures: LIBRARY, overrides: {}, exclusions: [], ratePolicies: [], siteModes: {} });

export interface TinyRuleset {
  version: number;
  /** Ids of enabled signatures (at PL1) whose regex matches the value, minus excluded ones for args:NAME. */
  match(value: string, arg?: string): number[];
}

/** Compiles `rx` patterns with overrides and id/target exclusions applied; throws on a bad pattern (like the engine). */
export function tinyCompile(content: SnapshotContent, version: number): TinyRuleset {
  const ov = overridesById(content);
  const rules = content.signatures.map((s) => {
    let re: RegExp;
    try { re = new RegExp(String(s.pattern), 'i'); } catch (err) { throw new Error(`signature ${s.id}: ${(err as Error).message}`); }
    return { id: s.id, re, on: ov[s.id]?.enabled !== false && (ov[s.id]?.paranoia ?? s.paranoia) <= 1 };
  });
  return {
    version,
    match(value, arg) {
      return rules.filter((r) => r.on && r.re.test(value)
        && !content.exclusions.some((e) => e.rule === String(r.id) && (!e.target || e.target === `args:${arg}`))).map((r) => r.id);
    },
  };
}
