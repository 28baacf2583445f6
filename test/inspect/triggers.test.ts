// The engine reuses one literal scan of the raw value for every transform chain whose trigger characters are absent
// from it. That is only sound if the transform really leaves such values unchanged up to ASCII case (the scan folds
// ASCII case): check it over every fixture we have (transform tables, benign traffic, the library's own examples),
// plus the bits themselves on a small table.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { benignValues } from '../helpers/benign-values.ts';
import { scanMarks, scanWithBits } from '../helpers/scans.ts';
import { LiteralMatcher } from '../../src/inspect/literal-matcher.ts';
import { transforms } from '../../src/inspect/transforms.ts';
import { chainTriggers, T_B64, T_CMD, T_HEX, T_NONASCII, T_PCT, T_WS, T_WSX, valueTriggers } from '../../src/inspect/triggers.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';

const values = new Set<string>();
const cases = JSON.parse(readFileSync(new URL('../fixtures/transforms/cases.json', import.meta.url), 'utf8')) as Record<string, Array<[string, string]>>;
for (const table of Object.values(cases)) for (const [a, b] of table) values.add(a).add(b);
for (const v of benignValues({ bodyParts: true })) values.add(v);
for (const s of readSignatureFiles(new URL('../../signatures', import.meta.url).pathname).signatures) {
  for (const ex of [...s.examples.match, ...s.examples.pass]) {
    if (typeof ex === 'string') values.add(ex);
    else {
      values.add(ex.uri);
      for (const v of Object.values(ex.headers ?? {})) values.add(v);
      if (ex.body !== undefined) values.add(ex.body);
    }
  }
}
// Each value also with its first layer of decodes applied, so decoded forms are covered too.
for (const v of [...values]) for (const fn of Object.values(transforms)) values.add(fn(v).value);

t.test('a transform leaves every value without its trigger characters unchanged (lowercase: up to ASCII case)', async (t) => {
  t.ok(values.size > 2000, `enough values (${values.size})`);
  for (const [name, fn] of Object.entries(transforms)) {
    const need = chainTriggers([name]);
    let skipped = 0;
    let wrong = 0;
    for (const v of values) {
      if ((valueTriggers(v) & need) !== 0) continue;
      skipped++;
      const r = fn(v);
      // Exactly unchanged, except lowercase (the engine skips such steps in a chain, and only lowercase may change
      // ASCII case: it is never skipped there).
      if (name === 'lowercase' ? r.value.toLowerCase() !== v.toLowerCase() : r.value !== v) {
        wrong++;
        if (wrong <= 3) t.fail(`${name} changes ${JSON.stringify(v.slice(0, 80))} though none of its triggers is there`);
      }
    }
    t.equal(wrong, 0, `${name}: ${skipped} values skipped, none changed by the transform`);
  }
});

t.test('trigger bits of single values', async (t) => {
  const table: Array<[string, number, boolean]> = [
    ['plain words', T_WS, true],
    ['plain words', T_WSX, false],
    ['two  spaces', T_WSX, true],
    ['tab\there', T_WSX, true],
    ['100%25', T_PCT, true],
    ['select 0x414243', T_HEX, true],
    ['ox414243', T_HEX, false],
    ["c'a't", T_CMD, true],
    ['ＳＥＬＥＣＴ', T_NONASCII, true],
    ['dW5pb24gc2VsZWN0', T_B64, true],
    ['not base64!', T_B64, false],
  ];
  for (const [v, bit, want] of table) t.equal((valueTriggers(v) & bit) !== 0, want, `${JSON.stringify(v)} ${want ? 'has' : 'lacks'} bit ${bit}`);
});

t.test('T_B64 equals the plain base64-looking regex on random and edge input', async (t) => {
  const re = /^\s*[A-Za-z0-9+/_-]{8,}={0,2}\s*$/;
  const alphabet = ['a', 'Z', '0', '+', '/', '_', '-', '=', ' ', '\t', '\u00a0', '\u3000', '!', '.', 'é'];
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const inputs = ['YWJjZGVmZ2g=', ' YWJjZGVmZ2g= ', 'YWJjZGVm', 'YWJjZGV', 'YWJj ZGVmZ2g=', 'YWJjZGVmZ2g===', '\u00a0YWJjZGVmZ2g\u3000', '=YWJjZGVmZ2g'];
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const len = rnd(16);
    for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
    inputs.push(s);
  }
  let differ = 0;
  for (const s of inputs) if (((valueTriggers(s) & T_B64) !== 0) !== re.test(s)) differ++;
  t.equal(differ, 0, `${inputs.length} inputs`);
});

t.test('a literal scan with bits gives the marks of scan and the trigger bits of valueTriggers', async (t) => {
  const m = new LiteralMatcher([
    { owner: 0, literals: ['select'] }, { owner: 1, literals: ['<script', 'javascript:'] }, { owner: 2, literals: ['"'] }, { owner: 3, literals: ['../'] },
  ]);
  let differ = 0;
  for (const v of values) {
    const plain = scanMarks(m, v);
    const fused = scanWithBits(m, v);
    if (plain.join() !== fused.marks.join() || fused.bits !== valueTriggers(v)) {
      differ++;
      if (differ <= 3) t.fail(`${JSON.stringify(v.slice(0, 80))}: marks ${plain} / ${fused.marks}, bits ${valueTriggers(v)} / ${fused.bits}`);
    }
  }
  t.equal(differ, 0, `${values.size} values`);
});
