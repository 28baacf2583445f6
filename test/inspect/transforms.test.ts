// Table-driven tests for every transform in the registry (fixtures in test/fixtures/transforms/cases.json).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { transforms, urlDecodeLayers, applyTransforms } from '../../src/inspect/transforms.ts';

const cases = JSON.parse(readFileSync(new URL('../fixtures/transforms/cases.json', import.meta.url), 'utf8')) as Record<
  string,
  Array<[string, string]>
>;

const REQUIRED = [
  'url_decode', 'url_decode_uni', 'html_entity_decode', 'unicode_normalize', 'lowercase', 'compress_whitespace',
  'remove_whitespace', 'remove_nulls', 'remove_comments', 'replace_comments', 'normalize_path', 'cmdline',
  'base64_decode', 'hex_decode', 'js_decode',
];

t.test('registry holds exactly the names signatures use', async (t) => {
  t.same(Object.keys(transforms).sort(), [...REQUIRED].sort());
});

for (const name of REQUIRED) {
  t.test(name, async (t) => {
    const table = cases[name];
    t.ok(table && table.length >= 2, 'has fixture cases');
    for (const [input, expected] of table) {
      const r = transforms[name](input);
      t.equal(r.value, expected, `${name}(${JSON.stringify(input)})`);
      t.equal(r.changed, expected !== input, `changed flag for ${JSON.stringify(input)}`);
    }
  });
}

t.test('unchanged input is returned as the same string', async (t) => {
  const s = 'a perfectly ordinary value 123';
  for (const name of REQUIRED) {
    if (name === 'remove_whitespace' || name === 'cmdline') continue; // these change spaces by design
    const r = transforms[name](s);
    t.equal(r.changed, false, name);
    t.ok(Object.is(r.value, s), `${name} returns the input`);
  }
});

t.test('urlDecodeLayers counts layers and stops at 5', async (t) => {
  t.same(urlDecodeLayers('plain'), { value: 'plain', layers: 0 });
  t.same(urlDecodeLayers('%27'), { value: "'", layers: 1 });
  t.same(urlDecodeLayers('%2527'), { value: "'", layers: 2 });
  t.same(urlDecodeLayers('%252527'), { value: "'", layers: 3 });
  // 7 layers: stops after 5 with two layers left
  t.same(urlDecodeLayers('%2525252525252527'), { value: '%252527', layers: 5 });
});

t.test('applyTransforms chains in order and refuses unknown names', async (t) => {
  t.equal(applyTransforms('%253CSCRIPT%253E', ['url_decode_uni', 'lowercase']), '<script>');
  t.equal(applyTransforms('%uFF1CScRiPt%uFF1E', ['url_decode_uni', 'unicode_normalize', 'lowercase']), '<script>');
  t.throws(() => applyTransforms('x', ['no_such_transform']));
});

t.test('transforms are bounded on hostile input', async (t) => {
  const big = '%25'.repeat(50_000) + '/*'.repeat(50_000) + '&#'.repeat(50_000);
  const start = process.hrtime.bigint();
  for (const name of REQUIRED) transforms[name](big);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.ok(ms < 2000, `all transforms over 300 KB took ${ms.toFixed(1)} ms`);
});

t.test('whitespace transforms: the ASCII fast path equals the plain regex definition on random input', async (t) => {
  const alphabet = ['a', 'B', ' ', '  ', '\t', '\n', '\r', '\v', '\f', 'x', '\u00a0', '\u3000', '\u0085', '-', "'"];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  let checked = 0;
  for (let i = 0; i < 3000; i++) {
    let s = '';
    const len = rnd(40);
    for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
    const removed = s.replace(/[\s\u0085\u180e]+/g, '');
    const compressed = s.replace(/[\s\u0085\u180e]+/g, ' ');
    if (transforms.remove_whitespace(s).value !== removed || transforms.compress_whitespace(s).value !== compressed) {
      t.fail(`differs on ${JSON.stringify(s)}`);
      return;
    }
    checked++;
  }
  t.equal(checked, 3000);
});
