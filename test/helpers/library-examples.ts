// The signature library's own examples, run through two rulesets that must decide them alike (an optimisation and the
// engine without it): how many examples differ, with the first few differences reported as failed assertions.
import { fileURLToPath } from 'node:url';
import type { InspectContext, CompiledRuleset } from '../../src/inspect/engine.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import { checkSignature, readSignatureFiles } from '../../src/signatures/loader.ts';
import type { ExampleRequest, SignatureSpec, Verdict } from '../../src/types.ts';

/** The library's signatures that pass their own checks. */
export function usableLibrary(): SignatureSpec[] {
  return readSignatureFiles(fileURLToPath(new URL('../../signatures', import.meta.url))).signatures.filter((s) => checkSignature(s).length === 0);
}

/** Every match and pass example of these signatures. */
export function libraryExamples(lib: SignatureSpec[]): ExampleRequest[] {
  return lib.flatMap((s) => [...s.examples.match, ...s.examples.pass]);
}

const summary = (v: Verdict) => ({ action: v.action, score: v.score, matches: v.matches.map((m) => `${m.id}@${m.target}=${m.matched}`) });

/** Inspect every example with `want` and `got`; returns the differing count and the blocked count (by `want`). */
export function compareOnExamples(
  t: { same(found: unknown, wanted: unknown, message: string): unknown }, want: CompiledRuleset, got: CompiledRuleset, examples: ExampleRequest[], ctx: InspectContext, label: string,
): { differ: number; blocked: number } {
  let differ = 0;
  let blocked = 0;
  for (const ex of examples) {
    const w = summary(want.inspect(exampleToInput(ex), ctx));
    const g = summary(got.inspect(exampleToInput(ex), ctx));
    if (w.action === 'block') blocked++;
    if (JSON.stringify(w) !== JSON.stringify(g)) {
      differ++;
      if (differ <= 3) t.same(g, w, `${label}: ${JSON.stringify(ex).slice(0, 120)}`);
    }
  }
  return { differ, blocked };
}
