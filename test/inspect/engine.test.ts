// Engine with small inline rule sets: selection, transforms, scoring once per signature, paranoia, modes, overrides.
import t from 'tap';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { ExampleRequest, SignatureSpec } from '../../src/types.ts';

function sig(id: number, over: Partial<SignatureSpec>): SignatureSpec {
  return {
    id, name: `sig ${id}`, family: 'test', paranoia: 1, severity: 'critical', targets: ['args'], transforms: [],
    operator: 'rx', pattern: 'x', tags: [], examples: { match: ['/?a=x'], pass: ['/?a=y'] }, ...over,
  };
}
const PL1 = { paranoia: 1, threshold: 5, mode: 'block' } as const;
const req = (ex: ExampleRequest) => exampleToInput(ex);

const specs: SignatureSpec[] = [
  sig(1, { pattern: 'union\\s+select', transforms: ['url_decode_uni', 'lowercase'] }),
  sig(2, { operator: 'pm', pattern: ['/etc/passwd', 'boot.ini'], targets: ['args', 'path'], severity: 'error' }),
  sig(3, { targets: ['headers:user-agent'], operator: 'contains', pattern: 'sqlmap', severity: 'warning' }),
  sig(4, { targets: ['args', '!args:comment'], operator: 'rx', pattern: '<script', paranoia: 2 }),
  sig(5, { targets: ['count:args'], operator: 'gt', pattern: 3, severity: 'notice' }),
  sig(6, { targets: ['method'], operator: 'within', pattern: ['GET', 'POST'], severity: 'critical' }),
];
const rs = compileRuleset(specs, { version: 7 });

t.test('decoded regex match blocks with the target, excerpt and matched part', async (t) => {
  const v = rs.inspect(req('/s?q=1%2520UNION%2520%2520SELECT%2520pw'), PL1);
  t.equal(v.action, 'block');
  t.equal(v.score, 5);
  t.equal(v.rulesetVersion, 7);
  // Decoded; the final lowercase is skipped on ASCII (the regex ignores case), so the reviewer sees the case sent.
  t.same(v.matches.map((m) => [m.id, m.target, m.matched]), [[1, 'args:q', 'UNION  SELECT']]);
  t.match(v.matches[0].value, /1 UNION {2}SELECT pw/);
});

t.test('benign request is allowed with no matches', async (t) => {
  const v = rs.inspect(req('/s?q=the+union+of+selected+works'), PL1);
  t.equal(v.action, 'allow');
  t.same(v.matches, []);
});

t.test('each signature counts once even when several targets match', async (t) => {
  const v = rs.inspect(req('/etc/passwd?a=/etc/passwd&b=boot.ini'), PL1);
  t.equal(v.matches.filter((m) => m.id === 2).length, 1);
  t.equal(v.score, 4);
  t.equal(v.action, 'allow', 'error (4) alone stays below threshold 5');
});

t.test('keyed header selector, case-insensitive header names', async (t) => {
  const v = rs.inspect(req({ uri: '/', headers: { 'USER-AGENT': 'sqlmap/1.7' } }), PL1);
  t.same(v.matches.map((m) => m.target), ['headers:user-agent']);
  t.equal(v.score, 3);
});

t.test('paranoia: PL2 signature runs only at PL2; negated selector removes a member', async (t) => {
  t.same(rs.inspect(req('/?x=<script>'), PL1).matches, []);
  t.same(rs.inspect(req('/?x=<script>'), { ...PL1, paranoia: 2 }).matches.map((m) => m.id), [4]);
  t.same(rs.inspect(req('/?comment=<script>'), { ...PL1, paranoia: 2 }).matches, []);
});

t.test('count: and within operators', async (t) => {
  t.same(rs.inspect(req('/?a=1&b=2&c=3&d=4'), PL1).matches.map((m) => [m.id, m.target, m.value]), [[5, 'count:args', '4']]);
  t.same(rs.inspect(req('/?a=1&b=2&c=3'), PL1).matches, []);
  const v = rs.inspect(req({ method: 'TRACE', uri: '/' }), PL1);
  t.same(v.matches.map((m) => [m.id, m.matched]), [[6, 'TRACE']]);
});

t.test('modes: detect forwards, off skips inspection', async (t) => {
  const attack = req('/?q=union+select+1');
  t.equal(rs.inspect(attack, { ...PL1, mode: 'detect' }).action, 'detect');
  const off = rs.inspect(attack, { ...PL1, mode: 'off' });
  t.equal(off.action, 'allow');
  t.same(off.matches, []);
});

t.test('overrides: disable, lower severity, raise paranoia', async (t) => {
  const attack = req('/?q=union+select+1');
  t.same(compileRuleset(specs, { version: 1, overrides: { 1: { enabled: false } } }).inspect(attack, PL1).matches, []);
  const lowered = compileRuleset(specs, { version: 1, overrides: { 1: { severity: 'notice' } } }).inspect(attack, PL1);
  t.equal(lowered.score, 2);
  t.equal(lowered.action, 'allow');
  t.same(compileRuleset(specs, { version: 1, overrides: { 1: { paranoia: 3 } } }).inspect(attack, PL1).matches, []);
});

t.test('refuses duplicate ids, unknown operators/transforms/targets and ReDoS, naming the id', async (t) => {
  const bad = (s: SignatureSpec[]) => {
    try {
      compileRuleset(s, { version: 1 });
      return 'compiled';
    } catch (err) {
      t.equal((err as { code?: string }).code, 'WAF_ERR_SIGNATURE_INVALID');
      return (err as Error).message;
    }
  };
  t.match(bad([sig(10, {}), sig(10, {})]), /signature 10: duplicate id/);
  t.match(bad([sig(11, { operator: 'nope' })]), /signature 11 .*unknown operator nope/);
  t.match(bad([sig(12, { transforms: ['rot13'] })]), /signature 12 .*unknown transform rot13/);
  t.match(bad([sig(13, { targets: ['argz'] })]), /signature 13 .*unknown target collection "argz"/);
  t.match(bad([sig(14, { pattern: '(a+)+$' })]), /signature 14 .*ReDoS/);
  t.match(bad([sig(15, { pattern: '(?:\\w|\\d)*x' })]), /signature 15 .*ReDoS/);
  t.match(bad([sig(16, { pattern: '[' })]), /signature 16 .*invalid regex/);
});

t.test('findings are a target collection', async (t) => {
  const r = compileRuleset([sig(20, { targets: ['findings'], operator: 'streq', pattern: 'url_encoding_invalid' })], { version: 1 });
  const v = r.inspect(req('/?a=%zz'), PL1);
  t.same(v.matches.map((m) => m.id), [20]);
  t.ok(v.findings.some((f) => f.code === 'url_encoding_invalid'));
});

t.test('a final lowercase step is skipped on ASCII only where every operator of the chain ignores case', async (t) => {
  const rules = compileRuleset(
    [
      sig(11, { pattern: 'union\\s+select', transforms: ['url_decode_uni', 'lowercase'] }),
      sig(12, { operator: 'streq', pattern: 'abc', transforms: ['lowercase'], targets: ['args:s'] }),
      sig(13, { operator: 'rx_cs', pattern: '^def$', transforms: ['lowercase'], targets: ['args:c'] }),
      sig(14, { operator: 'rx_cs', pattern: '^kelvin$', transforms: ['unicode_normalize', 'lowercase'], targets: ['args:k'] }),
    ],
    { version: 1, memo: 0 },
  );
  const ids = (url: string) => rules.inspect(req(url), PL1).matches.map((m) => [m.id, m.matched]);
  // Case-insensitive regex: decided on the value as sent (the excerpt keeps its case).
  t.same(ids('/?q=1+UNION+SELECT+pw'), [[11, 'UNION SELECT']]);
  // Case-sensitive operators still see the lowercase value, also when the value holds no trigger character at all
  // (before, such a value skipped every step, lowercase included, and `ABC` did not equal `abc`).
  t.same(ids('/?s=ABC'), [[12, 'abc']]);
  t.same(ids('/?c=DEF'), [[13, 'def']]);
  // Non-ASCII: the Kelvin sign K lowercases to an ASCII k.
  t.same(ids('/?k=%E2%84%AAELVIN'), [[14, 'kelvin']]);
});

t.test('a value repeated in one request is evaluated once per collection, but again where its key changes the result', async (t) => {
  const rules = compileRuleset([sig(21, { targets: ['args', '!args:comment'], pattern: '<script' })], { version: 1, memo: 0 });
  // The excluded key comes first: a dedupe that ignored keys would skip the second target and miss it.
  const v = rules.inspect(req('/?comment=%3Cscript%3E&title=%3Cscript%3E'), PL1);
  t.same(v.matches.map((m) => m.target), ['args:title']);
  const twice = rules.inspect(req('/?a=%3Cscript%3E&b=%3Cscript%3E'), PL1);
  t.same(twice.matches.map((m) => m.target), ['args:a'], 'scored once');
});

t.test('long values of one length: each is evaluated on its own content, however many share the length', async (t) => {
  // Values over 256 characters are found by length and compared; at most 8 are shared per length. The attack sits in
  // the 20th of 20 values of the same length that differ only at their end.
  const rules = compileRuleset([sig(31, { pattern: 'union\\s+select' })], { version: 1, memo: 0 });
  const pad = 'a'.repeat(600);
  const values = Array.from({ length: 20 }, (_, i) => `${pad}${String(i).padStart(2, '0')}${i === 19 ? ' union select 1' : ' union selekt 1'}`);
  t.ok(values.every((v) => v.length === values[0].length));
  const body = values.map((v, i) => `f${i}=${encodeURIComponent(v)}`).join('&');
  const v = rules.inspect(req({ method: 'POST', uri: '/f', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }), PL1);
  t.equal(v.action, 'block');
  t.same([...new Set(v.matches.map((m) => m.target))], ['args:f19']);
  const clean = rules.inspect(req({ method: 'POST', uri: '/f', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.replace('union%20select', 'union%20selekt') }), PL1);
  t.equal(clean.action, 'allow');
});

t.test('json targets covered by args (same signatures) decide as before; a json-only signature still runs on json', async (t) => {
  const body = JSON.stringify({ a: 'union select 1', b: '<!-- j -->' });
  const input = req({ method: 'POST', uri: '/api', headers: { 'content-type': 'application/json' }, body });
  const runs = { n: 0 };
  const counting = (specs: SignatureSpec[]) => compileRuleset(specs, {
    version: 1, memo: 0,
    compileSignature: (spec, i) => {
      const c = compileSignature(spec, i);
      const test = c.op.test;
      return { ...c, op: { ...c.op, test: (v: string) => { runs.n++; return test(v); } } };
    },
  });
  const both = counting([sig(41, { targets: ['args', 'json'], pattern: 'union\\s+select', severity: 'warning' })]);
  const v = both.inspect(input, PL1);
  t.same(v.matches.map((m) => m.target), ['args:a'], 'one match, on the args target');
  t.equal(runs.n, 1, 'the regex ran once (its literal is only in a)');
  runs.n = 0;
  const own = counting([sig(41, { targets: ['args', 'json'], pattern: 'union\\s+select', severity: 'warning' }), sig(42, { targets: ['json'], pattern: '<!--', severity: 'warning' })]);
  const w = own.inspect(input, PL1);
  t.same(w.matches.map((m) => `${m.id}@${m.target}`).sort(), ['41@args:a', '42@json:b'], 'a json-only signature still runs on json');
});
