// The whitespace lens: where a chain only removes a value's whitespace (see whitespaceLens), the engine takes the
// literal marks of the result from a second walk of the raw scan that skips whitespace, and never makes the string
// unless a marked signature must test it. Sound only if those marks equal the marks of the real result: checked for
// every chain of the library that has remove_whitespace, over every fixture value, example and edge case we have.
import t, { type Test } from 'tap';
import { benignValues } from '../helpers/benign-values.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { LiteralMatcher } from '../../src/inspect/literal-matcher.ts';
import { applyTransforms } from '../../src/inspect/transforms.ts';
import { chainTriggers, T_ALL, T_NONASCII, T_WS, valueTriggers, whitespaceLens } from '../../src/inspect/triggers.ts';
import { scanMarks, scanTwoWays } from '../helpers/scans.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import { buildRequestView } from '../../src/inspect/request-view.ts';

const library = readSignatureFiles(new URL('../../signatures', import.meta.url).pathname).signatures;
const values = new Set<string>([
  'java. lang. Runtime', 'java .lang .runtime', 'run time', 'process\tbuilder', 'process\nbuilder', 'a\u000bb\fc\rd',
  '0 x41', ' ./etc/passwd', 'aGVs bG8=', 'nul\u0000 here', '"constructor" : { "prototype" : {}}', 'UNION  SELECT', 'ja\u00a0va.lang',
]);
// The values the engine sees: every target of every example request of the library.
for (const s of library) for (const ex of [...s.examples.match, ...s.examples.pass]) for (const tg of buildRequestView(exampleToInput(ex)).targets) values.add(tg.value);
for (const v of benignValues()) values.add(v);

// The automaton of the whole library (every paranoia level).
const compiled = library.map((s, i) => compileSignature(s, i));
const m = new LiteralMatcher(compiled.filter((c) => c.op.literals !== null).map((c) => ({ owner: c.index, literals: c.op.literals as string[] })));

const lensChains = new Map<string, string[]>();
for (const s of library) if (s.transforms.includes('remove_whitespace')) lensChains.set(s.transforms.join(','), s.transforms);

/**
 * For each (chain, value, lens point) the cases give, whether the marks of the point with its whitespace skipped equal
 * the marks of the chain's real result; returns how many pairs were checked and fails the first few that differ.
 */
function checkLens(t: Test, cases: Iterable<[string[], string, string]>): { checked: number; wrong: number } {
  let checked = 0;
  let wrong = 0;
  for (const [names, v, point] of cases) {
    const want = scanMarks(m, applyTransforms(v, names));
    const got = scanTwoWays(m, point).withoutWhitespace;
    checked++;
    if (want.join() !== got.join()) {
      wrong++;
      if (wrong <= 3) t.fail(`${names.join(',')} on ${JSON.stringify(v.slice(0, 80))}: marks ${got} instead of ${want}`);
    }
  }
  return { checked, wrong };
}

t.test('lens marks equal the marks of the real result, for every lens chain of the library', async (t) => {
  t.ok(lensChains.size >= 3, `${lensChains.size} chains with remove_whitespace`);
  // The raw value is the lens point when it lacks every trigger of the steps before remove_whitespace (lensMask).
  function* cases(): Generator<[string[], string, string]> {
    for (const names of lensChains.values()) {
      // Both ways the engine numbers a chain's lowercase step (see buildPlan).
      for (const lastFolds of [false, true]) {
        const steps = names.map((n, k) => (n !== 'lowercase' ? chainTriggers([n]) : k === names.length - 1 && lastFolds ? T_NONASCII : T_ALL));
        const { lens, lensMask } = whitespaceLens(names, steps);
        if (!lens) continue;
        for (const v of values) {
          const bits = valueTriggers(v);
          if ((bits & T_WS) !== 0 && (bits & lensMask) === 0) yield [names, v, v];
        }
      }
    }
  }
  const { checked, wrong } = checkLens(t, cases());
  t.ok(checked > 500, `${checked} (chain, value) pairs checked`);
  t.equal(wrong, 0);
});

t.test('from any point of a chain: the marks of the value before remove_whitespace, whitespace skipped, equal the marks of the result', async (t) => {
  // The engine finds the lens point by running the steps before remove_whitespace (those whose triggers the value
  // holds); here they are simply applied. Values percent-encoded too, so the decode steps make the point.
  const encoded = [...values].map((v) => encodeURIComponent(v));
  function* cases(): Generator<[string[], string, string]> {
    for (const names of lensChains.values()) {
      const { lens, wsStep, tailMask } = whitespaceLens(names, names.map((n) => chainTriggers([n])));
      if (!lens) continue;
      for (const v of [...values, ...encoded]) {
        const point = applyTransforms(v, names.slice(0, wsStep));
        const bits = valueTriggers(point);
        if ((bits & T_WS) !== 0 && (bits & tailMask) === 0) yield [names, v, point];
      }
    }
  }
  const { checked, wrong } = checkLens(t, cases());
  t.ok(checked > 1000, `${checked} (chain, value) pairs checked`);
  t.equal(wrong, 0);
});

t.test('chains the lens must not see through', async (t) => {
  const steps = (names: string[]) => names.map((n) => chainTriggers([n]));
  t.notOk(whitespaceLens(['lowercase'], steps(['lowercase'])).lens, 'no remove_whitespace');
  t.notOk(whitespaceLens(['remove_whitespace', 'hex_decode'], steps(['remove_whitespace', 'hex_decode'])).lens, 'a decode after it ("0 x41")');
  t.notOk(whitespaceLens(['remove_whitespace', 'normalize_path'], steps(['remove_whitespace', 'normalize_path'])).lens, 'a path step after it (" ./x")');
  t.notOk(whitespaceLens(['remove_whitespace', 'base64_decode'], steps(['remove_whitespace', 'base64_decode'])).lens, 'base64 after it');
  const before = whitespaceLens(['url_decode_uni', 'remove_whitespace', 'lowercase'], steps(['url_decode_uni', 'remove_whitespace', 'lowercase']));
  t.ok(before.lens, 'a decode before it, on values it leaves alone');
  t.not(before.lensMask & chainTriggers(['url_decode_uni']), 0, 'its triggers must be absent');
  t.not(before.lensMask & T_NONASCII, 0, 'ASCII values only');
});

t.test('the first walk of scanTwoWays gives the marks of scan and the trigger bits of valueTriggers on every value', async (t) => {
  let wrong = 0;
  for (const v of values) {
    const two = scanTwoWays(m, v);
    if (scanMarks(m, v).join() !== two.marks.join() || two.bits !== valueTriggers(v)) {
      wrong++;
      if (wrong <= 3) t.fail(JSON.stringify(v.slice(0, 80)));
    }
  }
  t.equal(wrong, 0, `${values.size} values`);
});
