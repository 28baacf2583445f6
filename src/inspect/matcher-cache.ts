/**
 * Literal automata shared by content: the engine asks here instead of building a LiteralMatcher itself, so plans that
 * need the same automaton (several collections selected by the same signatures, the next version of an unchanged
 * library) share one. Entries are held weakly: an automaton lives as long as some plan uses it.
 * The async compile (compile-async.ts) also uses `collecting` to learn which automata a plan will need, and builds
 * them one per event-loop turn before the plan is built for real.
 */
import { LiteralMatcher, matcherSteps } from './literal-matcher.ts';

export type MatcherEntries = Array<{ owner: number; literals: readonly string[] }>;

const cache = new Map<string, WeakRef<LiteralMatcher>>();
const gone = new FinalizationRegistry<string>((key) => {
  if (cache.get(key)?.deref() === undefined) cache.delete(key);
});
let collected: Map<string, MatcherEntries> | null = null;
const EMPTY = new LiteralMatcher([]);

/** Content key of an automaton: owners and their literals, in order. */
export function matcherKey(entries: MatcherEntries): string {
  let key = '';
  for (const e of entries) key += e.owner + '\u0001' + e.literals.join('\u0002') + '\u0000';
  return key;
}

/** The automaton over these entries (shared when one with the same content is alive). */
export function literalMatcher(entries: MatcherEntries): LiteralMatcher {
  const key = matcherKey(entries);
  const hit = cache.get(key)?.deref();
  if (hit !== undefined) return hit;
  if (collected !== null) {
    // Dry run: note what is missing, build nothing (the caller throws this plan away).
    collected.set(key, entries);
    return EMPTY;
  }
  return remember(key, new LiteralMatcher(entries));
}

function remember(key: string, m: LiteralMatcher): LiteralMatcher {
  cache.set(key, new WeakRef(m));
  gone.register(m, key);
  return m;
}

/** Run `fn` (synchronously) and return the automata it asked for that are not built yet, built by none. */
export function collectMissing(fn: () => void): MatcherEntries[] {
  collected = new Map();
  try {
    fn();
    return [...collected.values()];
  } finally {
    collected = null;
  }
}

/**
 * Build one automaton into the cache in resumable steps, awaiting `pause()` between them (it decides whether to give
 * the event loop a turn); the caller keeps the returned reference until its plans hold it.
 */
export async function buildMatcher(entries: MatcherEntries, pause: () => Promise<void>): Promise<LiteralMatcher> {
  const key = matcherKey(entries);
  const have = cache.get(key)?.deref();
  if (have !== undefined) return have;
  const steps = matcherSteps(entries);
  let r = steps.next();
  while (!r.done) {
    await pause();
    r = steps.next();
  }
  // Another caller may have built the same automaton meanwhile: share that one.
  return cache.get(key)?.deref() ?? remember(key, new LiteralMatcher(entries, r.value));
}
