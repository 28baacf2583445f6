// Table-driven operator tests (value → fires or not, matched part), the ReDoS check, literal extraction and the
// Aho-Corasick prefilter (a prefilter must never hide a match the regex would make).
import t from 'tap';
import { compileOperator, operators } from '../../src/inspect/operators.ts';
import { LiteralMatcher } from '../../src/inspect/literal-matcher.ts';
import { requiredLiterals } from '../../src/inspect/prefilter.ts';
import { redosProblems } from '../../src/inspect/redos.ts';

type Case = [operator: string, pattern: string | string[] | number | undefined, value: string, matched: string | null];
const cases: Case[] = [
  ['rx', 'union\\s+select', 'x UNION  select y', 'UNION  select'],
  ['rx', 'union\\s+select', 'union of selected', null],
  ['rx_cs', 'Select', 'select', null],
  ['rx_cs', 'Select', 'a Select b', 'Select'],
  ['pm', ['/etc/passwd', 'boot.ini'], 'x=../../ETC/PASSWD', '/ETC/PASSWD'],
  ['pm', ['/etc/passwd', 'boot.ini'], '/etc/password-reset', null],
  ['pm', 'alpha beta', 'has BETA', 'BETA'],
  ['contains', '<?php', 'a<?php b', '<?php'],
  ['contains', '<?php', 'a<?PHP b', null],
  ['begins_with', '() {', '() { :; }; echo', '() {'],
  ['begins_with', '() {', 'x () {', null],
  ['ends_with', '.php', 'shell.php', '.php'],
  ['ends_with', '.php', 'shell.php.txt', null],
  ['streq', 'multi_encoding', 'multi_encoding', 'multi_encoding'],
  ['streq', 'multi_encoding', 'multi_encoding2', null],
  ['gt', 255, '256', '256'],
  ['gt', 255, '255', null],
  ['gt', 255, '1e9', null],
  ['ge', 10, ' 10 ', '10'],
  ['lt', 1, '0', '0'],
  ['le', 1, '2', null],
  ['eq', 0, '0', '0'],
  ['eq', 0, 'abc', null],
  ['ip_match', ['10.0.0.0/8', '::1'], '10.2.3.4', '10.2.3.4'],
  ['ip_match', ['10.0.0.0/8', '::1'], '::1', '::1'],
  ['ip_match', ['10.0.0.0/8', '::1'], '11.0.0.1', null],
  ['ip_match', ['10.0.0.0/8'], 'not-an-ip', null],
  ['within', ['GET', 'POST'], 'GET', null],
  ['within', ['GET', 'POST'], 'TRACE', 'TRACE'],
  ['detect_sqli', undefined, "1' or '1'='1", "'"],
  ['detect_sqli', undefined, "O'Brien", null],
  ['detect_xss', undefined, '<img src=x onerror=alert(1)>', '<img'],
  ['detect_xss', undefined, 'I <3 cats & dogs', null],
];

t.test('operators: value → match or not', async (t) => {
  for (const [op, pattern, value, matched] of cases) {
    const r = compileOperator(op, pattern).test(value);
    if (matched === null) t.equal(r, null, `${op} ${JSON.stringify(pattern)} does not fire on ${JSON.stringify(value)}`);
    else {
      t.ok(r, `${op} ${JSON.stringify(pattern)} fires on ${JSON.stringify(value)}`);
      if (r && op !== 'detect_sqli' && op !== 'detect_xss') t.equal(r.matched, matched);
      if (r) t.equal(value.slice(r.index, r.index + r.matched.length), r.matched, 'index points at the matched part');
    }
  }
});

t.test('every registered operator has a case; bad patterns are refused with a message', async (t) => {
  for (const name of Object.keys(operators)) t.ok(cases.some((c) => c[0] === name), `case for ${name}`);
  t.throws(() => compileOperator('nope', 'x'), /unknown operator nope/);
  t.throws(() => compileOperator('rx', '(unclosed'), /invalid regex/);
  t.throws(() => compileOperator('rx', ''), /non-empty string/);
  t.throws(() => compileOperator('pm', []), /non-empty list/);
  t.throws(() => compileOperator('gt', 'ten'), /needs a number/);
  t.throws(() => compileOperator('ip_match', ['10.0.0.0/33']), /bad prefix/);
  t.throws(() => compileOperator('ip_match', ['example.com']), /not an IP/);
  t.throws(() => compileOperator('detect_sqli', 'x'), /takes no pattern/);
});

t.test('ReDoS check: refuses catastrophic shapes, accepts bounded and separated ones', async (t) => {
  const refused = ['(a+)+$', '(\\w+)*!', '(?:a|a)*b', '(?:\\d|\\w)+x', '(.*)*x', '\\s*/?\\s*php', 'a.*.*b', '(x+x+)+y', '^([a-z0-9_]{1,40}__){0,6}$'];
  const accepted = ['union\\s+select', '\\s{0,10}=\\s{0,10}', '(?:,\\s*\\w+)*\\)', '<\\?php\\b', '^[a-z]+$', '(?:ab|cd)+', '[^;]{0,200};', '(?:\\[\\s*\\d{1,3}\\s*\\])+'];
  for (const p of refused) t.not(redosProblems(p).length, 0, `refused: ${p}`);
  for (const p of accepted) t.same(redosProblems(p), [], `accepted: ${p}`);
  // The refused shapes really are slow; the accepted ones are not (timed on a short hostile input).
  const slow = (src: string, input: string) => { const t0 = performance.now(); new RegExp(src, 'i').test(input); return performance.now() - t0; };
  t.ok(slow('(\\w+)*!', 'a'.repeat(24)) > slow('(?:,\\s*\\w+)*\\)', ','.repeat(24) + 'a'.repeat(24)), 'the nested shape is the slow one');
});

t.test('literal extraction: required literals (lowercase), or null when none is certain', async (t) => {
  const table: Array<[string, string[] | null]> = [
    ['union\\s+select', ['select']],
    ['(?:etc/passwd|boot\\.ini)', ['etc/passwd', 'boot.ini']],
    ['<script\\b', ['<script']],
    ['\\bSLEEP\\(', ['sleep(']],
    ['[sS]elect', ['select']],
    ['a?b?c?', null],
    ['\\w+=\\d+', ['=']],
    ['(?:x|\\d+)y', ['y']],
    ['java\\s*script:', ['script:']],
    // Of two required sets, the one rarer in benign text: shell separators, not the longer but common command names.
    ['(?:;|\\|)\\s*(?:at|sh|id)\\b', [';', '|']],
    ['(?:a|e)\\s*passwd', ['passwd']],
  ];
  for (const [src, want] of table) t.same(requiredLiterals(src), want, src);
});

t.test('prefilter soundness: when the regex matches, the automaton marks it (random inputs)', async (t) => {
  const patterns = ['union\\s+select', '<script\\b', '\\bon\\w+\\s*=', '(?:etc/passwd|boot\\.ini)', '\\$\\{jndi:', 'sleep\\(\\s*\\d', '\\.\\./', 'base64_decode\\s*\\('];
  const entries = patterns.map((p, owner) => ({ owner, literals: requiredLiterals(p) ?? [] })).filter((e) => e.literals.length);
  const ac = new LiteralMatcher(entries);
  const alphabet = ['union', ' ', 'SELECT', '<', 'script', 'ON', 'load', '=', '/etc/', 'passwd', '${', 'jndi:', 'sleep(', '5', '../', 'base64_decode', '(', 'x', 'é', 'İ'];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let fired = 0;
  for (let i = 0; i < 3000; i++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const hit = new Uint8Array(patterns.length);
    ac.scan(s, hit);
    patterns.forEach((p, owner) => {
      if (new RegExp(p, 'i').test(s)) {
        fired++;
        if (!hit[owner]) t.fail(`prefilter hid a match of ${p} in ${JSON.stringify(s)}`);
      }
    });
  }
  t.ok(fired > 100, `${fired} regex matches checked`);
});
