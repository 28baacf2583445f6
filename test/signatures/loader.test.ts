// The loader on temporary signature directories: a good library loads; duplicate ids, failing examples, ReDoS-prone
// patterns, schema errors, family mismatches and bad profiles are refused with messages naming the id (or file).
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLibrary, loadRuleset, readSignatureFiles } from '../../src/signatures/loader.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';

const GOOD = `family: demo
signatures:
  - id: 990100
    name: Demo union select
    family: demo
    paranoia: 1
    severity: critical
    targets: [args]
    transforms: [url_decode_uni, lowercase]
    operator: rx
    pattern: 'union\\s+select'
    tags: [demo]
    examples:
      match: ["/?q=1+UNION+SELECT+2", { method: POST, uri: /f, headers: { content-type: application/x-www-form-urlencoded }, body: "a=union%20select" }]
      pass: ["/?q=union+of+selected"]
`;

function lib(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sigs-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
function refusal(dir: string): string {
  try {
    loadLibrary(dir);
    return 'loaded';
  } catch (err) {
    t.equal((err as { code?: string }).code, 'WAF_ERR_SIGNATURE_INVALID');
    return (err as Error).message;
  }
}

t.test('a good library loads, compiles and blocks what its examples say', async (t) => {
  const dir = lib({ 'demo.yaml': GOOD, 'profiles/demo.yaml': "profile: demo\nexclusions:\n  - { id: x, rule: '990100', target: 'args:q' }\n" });
  const { library, ruleset } = loadRuleset(dir);
  t.equal(library.signatures.length, 1);
  t.same(Object.keys(library.profiles), ['demo']);
  t.equal(ruleset.inspect(exampleToInput('/?q=1+union+select+2'), { paranoia: 1, threshold: 5, mode: 'block' }).action, 'block');
});

t.test('duplicate ids across files are refused naming the id and both files', async (t) => {
  const msg = refusal(lib({ 'a.yaml': GOOD, 'b.yaml': GOOD }));
  t.match(msg, /b\.yaml: signature 990100: duplicate id \(also in a\.yaml\)/);
});

t.test('a match example that does not fire, or a pass example that fires, is refused naming the id', async (t) => {
  const bad = GOOD.replace('pass: ["/?q=union+of+selected"]', 'pass: ["/?q=union+select"]').replace('"/?q=1+UNION+SELECT+2"', '"/?q=harmless"');
  const msg = refusal(lib({ 'demo.yaml': bad }));
  t.match(msg, /signature 990100: examples\.match does not fire it: GET \/\?q=harmless/);
  t.match(msg, /signature 990100: examples\.pass fires it: GET \/\?q=union\+select \(fired on args:q/);
});

t.test('ReDoS-prone patterns are refused naming the id', async (t) => {
  const msg = refusal(lib({ 'demo.yaml': GOOD.replace("'union\\s+select'", () => "'(\\w+\\s?)+$'") }));
  t.match(msg, /signature 990100 \(Demo union select\): regex refused \(ReDoS-prone\)/);
});

t.test('schema problems name the file, entry and field', async (t) => {
  t.match(refusal(lib({ 'demo.yaml': GOOD.replace('severity: critical', 'severity: huge') })), /demo\.yaml: entry 1 \(id 990100\): severity/);
  t.match(refusal(lib({ 'demo.yaml': GOOD.replace('operator: rx', 'operator: rx\n    oops: 1') })), /demo\.yaml: entry 1 \(id 990100\): .*oops/);
  t.match(refusal(lib({ 'demo.yaml': GOOD.replace('    family: demo', '    family: other') })), /family "other" differs from the file's family "demo"/);
  t.match(refusal(lib({ 'demo.yaml': 'family: demo\nsignatures: [\n' })), /demo\.yaml: not valid YAML/);
  t.match(refusal(lib({ 'demo.yaml': GOOD.replace('      pass: ["/?q=union+of+selected"]\n', '      pass: []\n') })), /at least one examples\.pass/);
  t.match(refusal(lib({ 'demo.yaml': GOOD.replace('targets: [args]', 'targets: [argz]') })), /signature 990100 .*unknown target collection "argz"/);
});

t.test('bad profiles are refused naming the profile', async (t) => {
  t.match(refusal(lib({ 'demo.yaml': GOOD, 'profiles/p.yaml': "profile: p\nexclusions:\n  - { id: bad, rule: 'nonsense' }\n" })), /profiles\/p\.yaml: .*rule/);
  t.match(refusal(lib({ 'demo.yaml': GOOD, 'profiles/p.yaml': "profile: p\nexclusions:\n  - { id: re, rule: '*', pathRegex: '(a+)+$' }\n" })), /profile p: exclusion re: pathRegex refused/);
});

t.test('examples: defaults and overrides of headers, Content-Length, a null removes a default', async (t) => {
  const r = exampleToInput({ uri: '/x', headers: { 'user-agent': 'curl/8', accept: null as unknown as string }, body: 'a=1' });
  t.same(r.headers, [['Host', 'localhost'], ['user-agent', 'curl/8'], ['Content-Length', '3']]);
  t.equal(r.method, 'POST');
  t.equal(readSignatureFiles(lib({ 'demo.yaml': GOOD })).signatures[0].examples.match.length, 2);
});
