/**
 * The hot-reload compile (src/inspect/compile-async.ts): the same verdicts as the synchronous compileRuleset on the
 * full library, the same refusal for a bad signature, overrides honoured by the per-signature cache, the event loop
 * turning while a full library compiles, and the shared literal automata (matcher-cache.ts, faster LiteralMatcher)
 * marking exactly the owners whose literal occurs.
 */
import t from 'tap';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { compileRulesetAsync } from '../../src/inspect/compile-async.ts';
import { literalMatcher } from '../../src/inspect/matcher-cache.ts';
import { LiteralMatcher } from '../../src/inspect/literal-matcher.ts';
import { loadLibrary } from '../../src/store/compile.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import { WafError } from '../../src/errors.ts';
import type { Exclusion, SignatureSpec } from '../../src/types.ts';

const library = loadLibrary('signatures').filter((s) => {
  try { compileSignature(s); return true; } catch { return false; }
});
// Every example of the library (attacks and benign ones) as requests.
const requests = library.flatMap((s) => [...s.examples.match, ...s.examples.pass]).map(exampleToInput);
const verdicts = (rs: ReturnType<typeof compileRuleset>, paranoia: 1 | 2 | 4, site?: string) =>
  requests.map((r) => { const v = rs.inspect(r, { paranoia, threshold: 5, mode: 'block', site }); return `${v.action}:${v.score}:${v.matches.map((m) => `${m.id}@${m.target}`).join(',')}`; });

/** Every regex pattern changed (never compiled before in this process): the async path has real work to do. */
let rev = 0;
const fresh = (): SignatureSpec[] => {
  rev++;
  return library.map((s) => (s.operator === 'rx' || s.operator === 'rx_cs' ? { ...s, pattern: `(?:${String(s.pattern)})(?:)${'(?:)'.repeat(rev)}` } : s));
};

t.test('same verdicts as compileRuleset on the full library (overrides, exclusions, PL1/2/4)', async (t) => {
  t.ok(library.length > 200, `${library.length} signatures`);
  t.ok(requests.length > 400, `${requests.length} example requests`);
  const attack = library.find((s) => s.id === 942100) ?? library[0];
  const overrides = { [attack.id]: { paranoia: 2 as const }, [library[1].id]: { enabled: false }, [library[2].id]: { severity: 'notice' as const } };
  const exclusions: Exclusion[] = [{ id: 'ex-1', rule: 'tag:attack-xss', pathPrefix: '/', target: 'args:q' } as Exclusion, { id: 'ex-2', rule: '*', site: 'shop' } as Exclusion];
  const opts = { version: 7, overrides, exclusions };
  const specs = fresh();
  const sync = compileRuleset(specs, opts);
  const async = await compileRulesetAsync(specs, { ...opts, warm: [{ paranoia: 1 }, { paranoia: 2, site: 'shop' }] });
  t.equal(async.version, 7);
  t.same(async.signatures.map((s) => [s.id, s.paranoia, s.severity]), sync.signatures.map((s) => [s.id, s.paranoia, s.severity]));
  for (const pl of [1, 2, 4] as const) t.same(verdicts(async, pl), verdicts(sync, pl), `PL${pl}: every example gets the same verdict`);
  t.same(verdicts(async, 1, 'shop'), verdicts(sync, 1, 'shop'), 'site-wide exclusion');
  t.ok(verdicts(sync, 1).some((v) => v.startsWith('block')), 'some examples are blocked (the comparison is not vacuous)');

  // The per-signature cache (same patterns, compiled above) must not keep an old override.
  const again = await compileRulesetAsync(specs, { version: 8 });
  t.same(verdicts(again, 1), verdicts(compileRuleset(specs, { version: 8 }), 1), 'without the overrides, verdicts follow');
  const sev = await compileRulesetAsync(specs, { version: 9, overrides: { [attack.id]: { severity: 'notice' } } });
  t.equal(sev.signatures.find((s) => s.id === attack.id)?.severity, 'notice');
});

t.test('a bad signature or exclusion is refused like compileRuleset does', async (t) => {
  const bad: SignatureSpec = { ...library[0], id: 999777, name: 'bad', pattern: '(unclosed' };
  const err = await compileRulesetAsync([...library, bad, { ...library[3] }], { version: 1 }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof WafError, 'a WafError');
  t.equal((err as WafError).code, 'WAF_ERR_SIGNATURE_INVALID');
  t.match((err as Error).message, /999777/);
  t.match((err as Error).message, /duplicate id/);
});

t.test('the event loop turns while a full, never-seen library compiles', async (t) => {
  let turns = 0;
  let running = true;
  const spin = () => { if (running) { turns++; setImmediate(spin); } };
  setImmediate(spin);
  const specs = fresh();
  await compileRulesetAsync(specs, { version: 1, warm: [{ paranoia: 1 }, { paranoia: 2 }] });
  running = false;
  t.ok(turns >= 10, `${turns} event-loop turns during the compile (a synchronous compile allows none)`);
  turns = 0;
  running = true;
  setImmediate(spin);
  compileRuleset(fresh(), { version: 1 }).inspect(requests[0], { paranoia: 1, threshold: 5, mode: 'block' });
  t.equal(turns, 0, 'the synchronous compile + first request: no turn (what the async one avoids)');
  running = false;
});

t.test('literal automata: shared by content; mark exactly the owners whose literal occurs', async (t) => {
  const entries = library.map((s, owner) => ({ owner, literals: compileSignature(s).op.literals })).filter((e): e is { owner: number; literals: string[] } => e.literals !== null);
  const a = literalMatcher(entries);
  t.equal(literalMatcher(entries.map((e) => ({ ...e }))), a, 'same content: the same automaton');
  t.not(literalMatcher(entries.slice(1)), a, 'other content: another one');
  const fresh = new LiteralMatcher(entries);
  const pieces = [...new Set(entries.flatMap((e) => e.literals))];
  let seed = 11;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  let marked = 0;
  for (let i = 0; i < 1500; i++) {
    let v = '';
    for (let k = 1 + rnd(4); k > 0; k--) {
      const p = pieces[rnd(pieces.length)];
      v += rnd(2) ? p.toUpperCase() : p.slice(0, 1 + rnd(p.length)); // whole literals and prefixes of them
      if (rnd(3) === 0) v += ' ';
    }
    const lower = v.toLowerCase();
    const want = entries.filter((e) => e.literals.some((l) => lower.includes(l))).map((e) => e.owner);
    const hit = new Uint8Array(library.length);
    fresh.scan(v, hit);
    const got = [...hit.keys()].filter((k) => hit[k]);
    marked += got.length;
    if (got.join() !== want.join()) {
      t.fail(`automaton marks ${got.join()} for ${JSON.stringify(v)}, literals occur for ${want.join()}`);
      break;
    }
  }
  t.ok(marked > 1500, `${marked} owner marks checked against a plain substring search`);
});

t.test('every regex of a new version runs twice during the compile (V8 compiles it there, not on the first requests)', async (t) => {
  const specs = fresh();
  const sources = new Set(specs.filter((s) => s.operator === 'rx' || s.operator === 'rx_cs').map((s) => new RegExp(String(s.pattern)).source));
  const runs = new Map<string, number>();
  const exec = RegExp.prototype.exec;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    if (sources.has(this.source)) runs.set(this.source, (runs.get(this.source) ?? 0) + 1);
    return exec.call(this, s);
  };
  try {
    await compileRulesetAsync(specs, { version: 1 });
  } finally {
    RegExp.prototype.exec = exec;
  }
  const short = [...sources].filter((src) => (runs.get(src) ?? 0) < 2);
  t.equal(short.length, 0, `${sources.size} new regexes, each run at least twice before the ruleset is handed over`);
  t.ok(sources.size > 100);
  runs.clear();
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    if (sources.has(this.source)) runs.set(this.source, (runs.get(this.source) ?? 0) + 1);
    return exec.call(this, s);
  };
  try {
    await compileRulesetAsync(specs.map((s) => ({ ...s, description: `${s.description} (v2)` })), { version: 2 });
  } finally {
    RegExp.prototype.exec = exec;
  }
  const total = [...runs.values()].reduce((a, b) => a + b, 0);
  t.ok(total < sources.size, `a version that changes no pattern runs them again only for its warm-up plans (${total} runs for ${sources.size} regexes)`);
});
