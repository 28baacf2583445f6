// Lists with few signatures with literals scan with their own automaton (EntryList.narrow): the verdicts and matches
// are the plan automaton's, on the whole library and through chains, case folding and the whitespace lens.
import t from 'tap';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { buildPlan } from '../../src/inspect/plan.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { SignatureSpec } from '../../src/types.ts';
import { compareOnExamples, libraryExamples, usableLibrary } from '../helpers/library-examples.ts';

const ctx = { paranoia: 1, threshold: 5, mode: 'block' } as const;
const sig = (id: number, pattern: string, over: Partial<SignatureSpec> = {}): SignatureSpec => ({
  id, name: `s${id}`, family: 'test', paranoia: 1, severity: 'critical', targets: ['args'],
  transforms: [], operator: 'rx', pattern, tags: [], examples: { match: ['/'], pass: ['/'] }, ...over,
});

t.test('the full library decides every example the same with lists scanned by their own automata as by the plan\'s', async (t) => {
  const lib = usableLibrary();
  const examples = libraryExamples(lib);
  const compiled = lib.map((s, i) => compileSignature(s, i));
  for (const paranoia of [1, 2, 3, 4] as const) {
    const plan = buildPlan(compiled, paranoia, [], { chains: new Map(), steps: new Map() });
    const lists = plan.collections.flatMap((cp) => [cp.whole, ...cp.byKey.values()]);
    const narrow = lists.filter((l) => l.narrow !== null).length;
    t.ok(narrow > 0, `PL${paranoia}: ${narrow} of ${lists.length} lists have their own automaton`);
    const wide = compileRuleset(lib, { version: 1, memo: 0, narrow: 0 });
    const own = compileRuleset(lib, { version: 1, memo: 0 });
    const { differ, blocked } = compareOnExamples(t, wide, own, examples, { ...ctx, paranoia }, `PL${paranoia}`);
    t.equal(differ, 0, `PL${paranoia}: ${examples.length} examples, same verdicts and matches (${blocked} blocked)`);
  }
});

t.test('a narrow list finds its literals through decoding, case and the whitespace lens; the wide lists are not affected', async (t) => {
  // Many signatures on args make the plan's automaton much larger than uri_raw's own.
  const many = Array.from({ length: 24 }, (_, i) => sig(100 + i, `word${i}x`, { targets: ['args'] }));
  const specs = [
    ...many,
    sig(1, 'unix:[^|]*\\|', { targets: ['uri_raw'], transforms: ['url_decode_uni', 'lowercase'] }),
    sig(2, 'jndi:ldap', { targets: ['uri_raw'], transforms: ['url_decode_uni', 'remove_whitespace', 'lowercase'] }),
  ];
  const plan = buildPlan(specs.map((s, i) => compileSignature(s, i)), 1, [], { chains: new Map(), steps: new Map() });
  const uri = plan.collections.find((cp) => cp.collection === 'uri_raw');
  const args = plan.collections.find((cp) => cp.collection === 'args');
  t.ok(uri?.whole.narrow != null, 'uri_raw has its own automaton');
  t.equal(args?.whole.narrow, null, 'args (24 signatures) scans with the plan\'s');
  for (const narrow of [0, 16]) {
    const rs = compileRuleset(specs, { version: 1, memo: 0, narrow });
    const ids = (uri: string) => rs.inspect(exampleToInput(uri), ctx).matches.map((m) => `${m.id}@${m.target}`);
    t.same(ids('/x?a=UNIX:/run/a.sock|http://b/'), ['1@uri_raw'], `narrow ${narrow}: upper case`);
    t.same(ids('/x?a=%55nix%3A/run/a.sock%7Chttp://b/'), ['1@uri_raw'], `narrow ${narrow}: percent-encoded`);
    t.same(ids('/x?a=%24%7Bj%20n%20d%20i%3A%20l%20d%20a%20p'), ['2@uri_raw'], `narrow ${narrow}: spaced out (the whitespace lens)`);
    t.same(ids('/x?a=word7x'), ['107@args:a'], `narrow ${narrow}: a wide list`);
    t.same(ids('/x?a=unix-socket'), [], `narrow ${narrow}: clean`);
  }
});
