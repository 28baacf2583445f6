/**
 * compileRuleset without stalling the event loop, for the hot reload (LiveRuleset): the same result as the synchronous
 * compileRuleset, built in slices of about a millisecond with a yield to the event loop between them.
 *
 * - Signatures are compiled once per distinct compile-relevant text (operator, pattern, targets, transforms,
 *   severity) and reused by later versions; a version that changes one override or one pattern recompiles only that.
 *   Each operator not run before is run twice on a probe, so V8 compiles its regex here rather than on the first
 *   requests (after a swap, and at start).
 * - The literal automata of the plans (the costly part: tens of ms each on a full library) are built one per slice
 *   before the swap, shared with any live plan that needs the same one (matcher-cache.ts), and the plans of the given
 *   warm-up contexts are built too, so the first request after a swap does not pay for them.
 */
import type { ParanoiaLevel, RequestInput, SignatureSpec } from '../types.ts';
import { compileRuleset, type CompiledRuleset, type CompileOptions } from './engine.ts';
import { compileSignature, type CompiledSignature } from './signature.ts';
import type { CompiledOperator } from './operators.ts';
import { buildMatcher, collectMissing } from './matcher-cache.ts';
import type { LiteralMatcher } from './literal-matcher.ts';

/** A request context whose plan should be ready before the swap (paranoia, site and path pick a plan). */
export interface WarmContext {
  paranoia: ParanoiaLevel;
  site?: string;
  path?: string;
}

export interface AsyncCompileOptions extends CompileOptions {
  /** Plans to build before resolving (default: paranoia 1, no site). */
  warm?: WarmContext[];
  /**
   * Longest stretch of work between two yields, in ms (default 1). A proxied request needs several turns of the event
   * loop (read and inspect, forward, answer), each behind one slice: with 5 ms slices a request waited up to ~0.19 s
   * during a swap that compiles most of the library, with 1 ms up to ~0.08 s (bench/reload.bench.ts).
   */
  sliceMs?: number;
}

const MAX_CACHED = 5000;
const signatureCache = new Map<string, CompiledSignature>();

function compileKey(spec: SignatureSpec): string {
  return JSON.stringify([spec.operator, spec.pattern ?? null, spec.targets, spec.transforms, spec.severity]);
}

/**
 * compileSignature with reuse: a signature whose compile-relevant text was compiled before gets the earlier
 * operator, selectors and transforms, with its own spec (id, name, paranoia, tags) and index.
 */
export function compileSignatureCached(spec: SignatureSpec, index: number): CompiledSignature {
  const key = compileKey(spec);
  const hit = signatureCache.get(key);
  if (hit !== undefined) return { ...hit, spec, index };
  const sig = compileSignature(spec, index); // throws for a bad signature: nothing cached
  if (signatureCache.size >= MAX_CACHED) signatureCache.clear();
  signatureCache.set(key, sig);
  return sig;
}

/**
 * V8 compiles a regex on its first run (to bytecode) and again on its second (to machine code): tens of ms for our
 * largest patterns. Two runs here, each in its own slice, keep that work off the first requests after a swap.
 */
const WARM_PROBE = 'bulwark warm-up probe: a=1&b=2';
/** Operators already run on the probe (also those first compiled outside this file, e.g. the library at start). */
const warmed = new WeakSet<CompiledOperator>();

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs steps, yielding to the event loop whenever a slice has used its budget. */
class Slicer {
  private start = performance.now();
  constructor(private readonly budgetMs: number) {}
  async step(): Promise<void> {
    if (performance.now() - this.start < this.budgetMs) return;
    await turn();
    this.start = performance.now();
  }
}

function probeInput(path: string): RequestInput {
  return { method: 'GET', url: path, httpVersion: '1.1', headers: [], body: null };
}

/** compileRuleset, in slices; same result and the same WafError for a bad signature or exclusion. */
export async function compileRulesetAsync(specs: SignatureSpec[], opts: AsyncCompileOptions): Promise<CompiledRuleset> {
  const { warm = [{ paranoia: 1 }], sliceMs = 1, ...compileOpts } = opts;
  const slicer = new Slicer(sliceMs);
  await turn();
  // 1. Signatures not compiled before, one at a time (a failure is reported by compileRuleset below).
  for (const raw of specs) {
    const o = compileOpts.overrides?.[raw.id];
    if (o?.enabled === false) continue;
    const spec = o ? { ...raw, paranoia: o.paranoia ?? raw.paranoia, severity: o.severity ?? raw.severity } : raw;
    let op: CompiledOperator | null = null;
    try {
      op = compileSignatureCached(spec, 0).op;
    } catch {
      // compileRuleset names it with the others.
    }
    await slicer.step();
    if (op !== null && !warmed.has(op)) {
      warmed.add(op);
      for (let run = 0; run < 2; run++) {
        if (op.warm !== undefined) op.warm(WARM_PROBE);
        else op.test(WARM_PROBE);
        await slicer.step();
      }
    }
  }
  // 2. Assemble (cheap now: every signature is cached); throws like compileRuleset.
  const options: CompileOptions = { ...compileOpts, compileSignature: compileSignatureCached };
  const ruleset = compileRuleset(specs, options);
  await slicer.step();
  // 3. The automata the warm-up plans need: learnt on a throw-away ruleset, then built one per slice.
  const contexts = warm.map((w) => ({ ...w, threshold: Number.MAX_SAFE_INTEGER, mode: 'detect' as const }));
  const missing = collectMissing(() => {
    const probe = compileRuleset(specs, options);
    for (const ctx of contexts) probe.inspect(probeInput(ctx.path ?? '/'), ctx);
  });
  const held: LiteralMatcher[] = []; // strong references until the real plans hold them
  for (const entries of missing) {
    await slicer.step();
    held.push(await buildMatcher(entries, () => slicer.step()));
  }
  // 4. The real plans (every automaton is found built).
  for (const ctx of contexts) {
    await slicer.step();
    ruleset.inspect(probeInput(ctx.path ?? '/'), ctx);
  }
  held.length = 0;
  ruleset.source.warm = warm;
  return ruleset;
}
