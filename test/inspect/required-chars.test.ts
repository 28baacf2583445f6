// The second prefilter of a regex: characters of which every match holds one (requiredChars), checked in the
// operator's test() before the regex runs. It must never reject a value the regex matches: traps in a table, a
// brute-force check against V8 itself, and the library's own match examples (after their transforms).
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { compileOperator } from '../../src/inspect/operators.ts';
import { requiredChars, requiredLiterals } from '../../src/inspect/prefilter.ts';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature, type CompiledSignature } from '../../src/inspect/signature.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';

/** [source, flags, the expected characters (most frequent in benign text first) or null]. */
const table: Array<[string, string, string[] | null]> = [
  // A call's parenthesis, required after any name.
  ['(?:base64_decode|\\bexec)\\s*\\(', 'i', ['(']],
  ['foo\\(', '', ['(']],
  ['\\x28', 'i', ['(']],
  ['\\u0028', 'i', ['(']],
  ['\\050', 'i', ['(']], // legacy octal escape
  ['[\\050]', 'i', ['(']],
  ['\\cJ', '', ['\n']],
  // Classes: all members, most frequent first.
  ['[;|&]', 'i', ['&', ';', '|']],
  ['x[<>]y', 'i', ['<', '>']],
  // Alternations: the union of one set per alternative.
  ['(?:\\(|;)x', 'i', ['(', ';']],
  ['(?:;|\\|)\\s*(?:cat|ls)', 'i', [';', '|']],
  ['(?:a\\(|b\\)|c\\()', 'i', ['(', ')']],
  // A sequence: the rarest of its items' sets.
  ['\\.\\w+\\(', 'i', ['(']],
  ['=\\s*`', 'i', ['`']],
  // Repeats: required only when they must run.
  [';{1,3}', 'i', [';']],
  [';+', 'i', [';']],
  ['(?:;|&)+x', 'i', ['&', ';']],
  ['^;$', 'i', [';']],
  ['(;)\\1', 'i', [';']],
  // Traps: each of these regexes matches a string holding none of the characters it mentions.
  ['foo\\(?', 'i', null], // optional
  [';*x', 'i', null], // zero or more
  [';{0,3}x', 'i', null],
  [';{0}x', 'i', null],
  ['(?:;?)+x', 'i', null],
  ['(?:\\(|bar)', 'i', null], // an alternative without it
  ['(?:;|)x', 'i', null], // an empty alternative
  ['(?:(?:;|a)|&)', 'i', null],
  ['x(?=\\()', 'i', null], // lookahead: zero-width
  ['x(?!\\()', 'i', null],
  ['(?<=;)x', 'i', null], // lookbehind
  ['(?<!;)x', 'i', null],
  ['(?:(;)|a)\\1', 'i', null], // back-reference: any text, also empty
  ['^$', 'i', null],
  ['\\bx\\b', 'i', null],
  ['[;a]', 'i', null], // a letter: under i also its other case (and we keep to non-letters under any flags)
  ['[;a]', '', null],
  ['[;z]', 'i', null], // a rare letter: Z matches it too
  ['(?:;|z)', 'i', null],
  ['(?:;|Z)x', '', null],
  ['[^a]', 'i', null], // negated: non-ASCII members
  ['\\W', 'i', null],
  ['\\S', 'i', null],
  ['\\s', 'i', null],
  ['.', 'i', null],
  ['é\\(?', 'i', null], // non-ASCII
  ['[é;]', 'i', null],
  ['[]', 'i', null], // matches nothing: left alone
  // Not selective: characters frequent in benign text, or too many of them.
  [' ', 'i', null],
  ['\\d', 'i', null],
  ['[;|&<>(){}]', 'i', null], // nine characters (one scan each): over the cap
  ['(?:;|\\||&|<|>|\\(|\\)|\\{|\\})', 'i', null],
  // Flags whose syntax the parser does not read.
  ['\\u{28}', 'u', null],
  ['\\(', 'v', null],
  // Unreadable source.
  ['(?i)x', 'i', null],
];

t.test('required characters: regex source → characters every match holds, or null', async (t) => {
  for (const [src, flags, want] of table) t.same(requiredChars(src, flags), want, `/${src}/${flags}`);
});

t.test('a set the automaton already implies is not checked again; another required set is taken instead', async (t) => {
  t.same(requiredChars(';', 'i', [';']), null, 'the literal is the character');
  t.same(requiredChars('(?:;|\\|)\\s*id\\b', 'i', [';', '|']), null, 'the literals are the separators');
  t.same(requiredChars('(?:;|\\|)\\s*id\\b', 'i', ['id']), [';', '|'], 'the literal is the command');
  t.same(requiredChars('(?:;|&)\\s*rm\\s+-', 'i', [';', '&']), ['-'], 'separators implied: the option dash');
  t.same(requiredChars('sleep\\(', 'i', ['sleep(']), null, 'every literal holds (');
  const src = '(?:base64_decode|\\bexec)\\s*\\(';
  t.same(requiredChars(src, 'i', requiredLiterals(src)), ['('], 'names for the automaton, ( for the check');
});

t.test('brute force: on every short string over the regex\'s own alphabet, a V8 match holds a required character', async (t) => {
  let checked = 0;
  // Every entry, traps included, with what requiredChars returns (not what the table expects).
  for (const [src, flags] of table) {
    const want = requiredChars(src, flags);
    if (want === null) continue;
    const re = new RegExp(src, flags);
    // The characters the source mentions, their other case, and a few others.
    const alphabet = [...new Set([...src.replace(/\\[sdwbxuc]/g, ''), 'a', 'A', 'x', ' ', '(', ';', '\n', 'é'])].flatMap((c) => [c, c.toUpperCase()]);
    const letters = [...new Set(alphabet)];
    const strings: string[] = [''];
    for (let len = 1; len <= 4; len++) {
      const from = strings.length;
      for (let s = strings.length - letters.length ** (len - 1); s < from; s++) for (const c of letters) strings.push(strings[s] + c);
    }
    for (const s of strings) {
      if (!re.test(s)) continue;
      checked++;
      if (!want.some((c) => s.includes(c))) t.fail(`/${src}/${flags} matches ${JSON.stringify(s)}, which holds none of ${JSON.stringify(want)}`);
    }
  }
  t.ok(checked > 10000, `${checked} matching strings checked`);
});

t.test('the operator: test() checks the characters before the regex; warm() runs the regex regardless', async (t) => {
  const op = compileOperator('rx', '(?:base64_decode|\\bexec)\\s*\\(');
  t.same(op.chars, ['(']);
  t.equal(op.test('exec summary for 2024'), null, 'no ( : the regex does not run');
  t.same(op.test('x=EXEC ($a)'), { matched: 'EXEC (', index: 2 });
  const long = 'exec '.repeat(100) + 'exec(';
  t.same(op.test(long), { matched: 'exec(', index: 500 }, 'a long value (native scans)');
  const multi = compileOperator('rx', '(?:;|\\||&)\\s*rm\\b');
  t.same(multi.chars, ['&', ';', '|']);
  t.equal(multi.test('rm'), null, 'short value (one regex class): none of them');
  t.ok(multi.test('a|rm'), 'short value: one of them');
  t.equal(multi.test('rm '.repeat(40)), null, 'long value (native scans): none of them');
  t.ok(multi.test('rm '.repeat(40) + '& rm'), 'long value: one of them, last');
  t.equal(compileOperator('rx', 'union\\s+select').chars, null, 'no such characters');
  // Characters that are special inside a regex class, on short values (the class) and long ones (includes).
  const special = compileOperator('rx', '(?:\\]|\\\\|\\^|-)\\s*evil');
  t.same([...(special.chars ?? [])].sort(), ['-', '\\', ']', '^']);
  for (const c of [']', '\\', '^', '-']) {
    t.ok(special.test(`${c}evil`), `short: ${c}evil`);
    t.ok(special.test(`${'a'.repeat(80)}${c} evil`), `long: ...${c} evil`);
  }
  t.equal(special.test('a evil'), null);
  t.equal(special.test(`${'a'.repeat(80)} evil`), null);
  const runs: string[] = [];
  const exec = RegExp.prototype.exec;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    runs.push(this.source);
    return exec.call(this, s);
  };
  try {
    op.warm?.('no parenthesis here');
  } finally {
    RegExp.prototype.exec = exec;
  }
  t.ok(runs.some((s) => s.includes('base64_decode')), 'warm() ran the regex on a value the check rejects');
});

t.test('library: on every value a match example gives a regex signature, a regex match passes the check', async (t) => {
  const dir = fileURLToPath(new URL('../../signatures', import.meta.url));
  const specs = readSignatureFiles(dir).signatures.filter((s) => s.operator === 'rx' || s.operator === 'rx_cs');
  t.ok(specs.length > 150, `${specs.length} regex signatures`);
  let withChars = 0;
  let matched = 0;
  for (const spec of specs) {
    const raw = new RegExp(String(spec.pattern), spec.operator === 'rx' ? 'i' : '');
    let chars: string[] | null = null;
    const seen: string[] = [];
    // Every value the engine hands the operator, after the signature's transforms.
    const spy = (s: typeof spec, index: number): CompiledSignature => {
      const c = compileSignature(s, index);
      chars = c.op.chars ?? null;
      const test = c.op.test;
      c.op = { ...c.op, test: (v: string) => (seen.push(v), test(v)) };
      return c;
    };
    const rs = compileRuleset([{ ...spec, paranoia: 1 }], { version: 0, memo: 0, compileSignature: spy });
    if (chars !== null) withChars++;
    for (const ex of spec.examples.match) {
      seen.length = 0;
      const v = rs.inspect(exampleToInput(ex), { paranoia: 1, threshold: Number.MAX_SAFE_INTEGER, mode: 'detect' });
      t.ok(v.matches.some((m) => m.id === spec.id), `${spec.id} fires on its match example`);
      const hits = seen.filter((s) => raw.test(s));
      t.ok(hits.length > 0, `${spec.id}: the regex matches a value of its example`);
      for (const s of hits) {
        matched++;
        const holds = chars === null || (chars as string[]).some((c) => s.includes(c));
        if (!holds) t.fail(`${spec.id}: the regex matches ${JSON.stringify(s)}, which holds none of ${JSON.stringify(chars)}`);
      }
    }
  }
  t.ok(withChars > specs.length / 3, `${withChars} of ${specs.length} regex signatures have a character check`);
  t.ok(matched > 300, `${matched} matching values checked`);
  const byId = (id: number) => compileSignature(specs.find((s) => s.id === id) as (typeof specs)[number]).op;
  t.same(byId(933150).chars, ['('], '933150 (PHP function names) needs the call\'s (');
  t.not(byId(932105).chars, null, '932105 (command after a separator) needs an option or path character');
});
