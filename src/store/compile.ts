/**
 * The store's compiler: snapshot content → the engine's CompiledRuleset, after self-testing every signature against
 * its own examples (in a worker thread, cached by the signature's text, so a reload only re-tests what changed).
 * The compile itself runs in slices that yield to the event loop (compile-async.ts), so a swap never stalls requests.
 */
import { compileRulesetAsync, compileSignatureCached, type WarmContext } from '../inspect/compile-async.ts';
import type { CompiledRuleset } from '../inspect/engine.ts';
import { readSignatureFiles } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';
import { selfTestAll, trustAsTested } from './self-test.ts';
import { overridesById, type SnapshotContent } from './snapshot.ts';

/** A compile or self-test refusal listing every problem (each naming its signature id). */
export class RulesetRefused extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
    this.name = 'RulesetRefused';
  }
}

/**
 * Compile snapshot content; rejects with RulesetRefused when a signature fails its examples or anything fails to compile.
 * `warm`: the request contexts (paranoia, site) whose plans are built before the ruleset is handed over;
 * `memo`: entries per generation of the engine's clean-target memo (config `inspection.memo`; 0 = off).
 */
export async function compileSnapshot(content: SnapshotContent, version: number, warm?: WarmContext[], memo?: number): Promise<CompiledRuleset> {
  const problems = (await selfTestAll(content.signatures)).flat();
  if (problems.length) throw new RulesetRefused(problems);
  try {
    return await compileRulesetAsync(content.signatures, { version, overrides: overridesById(content), exclusions: content.exclusions, warm, memo });
  } catch (err) {
    const e = err as Error & { details?: unknown };
    throw new RulesetRefused(Array.isArray(e.details) ? e.details.map(String) : e.message.split('\n'));
  }
}

/** Read signatures/*.yaml (schema-checked); throws RulesetRefused naming each bad file/entry. */
export function loadLibrary(dir: string): SignatureSpec[] {
  const read = readSignatureFiles(dir);
  if (read.problems.length) throw new RulesetRefused(read.problems.map((p) => `${p.file}: ${p.message}`));
  return read.signatures;
}

/**
 * The local library to start from: signatures that do not compile (bad pattern, ReDoS-prone, unknown operator) are
 * left out and each is logged as an error, so one bad entry in signatures/ cannot keep the WAF from starting. Their
 * examples are not run here (the library test and `rules push` run them; a busy start would pay seconds of CPU);
 * the rest is recorded as tested so changes layered on it (overrides, exclusions) do not re-run them either.
 * Versions pushed or published later are self-tested in full for every signature whose text is new.
 */
export function usableLibrary(specs: SignatureSpec[], log: { error(msg: string): void }): SignatureSpec[] {
  const ok: SignatureSpec[] = [];
  for (const s of specs) {
    try {
      compileSignatureCached(s, 0);
      ok.push(s);
    } catch (err) {
      log.error(`signature ${s.id} left out of the local library: ${(err as Error).message}`);
    }
  }
  trustAsTested(ok);
  return ok;
}
