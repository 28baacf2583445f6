// The regex parser behind the ReDoS check and the prefilters, checked against V8 itself: the characters an atom (a
// character, a class, an escape) matches per the AST are exactly those the real RegExp matches, including the legacy
// (Annex B) escapes of regexes without the u flag: octal escapes, \c, \8 and \9 in a class.
import t from 'tap';
import { parseRegex, type Node } from '../../src/inspect/regex-ast.ts';

/** Whether a one-character atom's AST matches the character (code below 128). */
function atomMatches(n: Node, code: number): boolean {
  if (n.type === 'char') return n.ch.charCodeAt(0) === code && n.ch.length === 1;
  if (n.type === 'set') return n.set.ascii[code] === 1;
  throw new Error(`not an atom: ${n.type}`);
}

t.test('one-character atoms: the AST matches the same ASCII characters as V8 (flags "" and "i")', async (t) => {
  const atoms = [
    'a', ';', '\\(', '\\.', '[;|&]', '[^;]', '[a-f]', '[!--]', '[\\d-z]', '[a-\\d]', '\\d', '\\D', '\\w', '\\W', '\\s', '\\S', '.',
    '\\0', '\\012', '\\01', '\\037', '\\07', '[\\012]', '[\\12]', '[\\1]', '[\\8]', '[\\9]', '[\\477]', '[\\400]', '[\\101-\\103]',
    '\\x41', '\\u0041', '[\\x20-\\x2f]', '\\cJ', '\\cj', '[\\cJ]', '[\\c1]', '[\\c_]', '[\\c!]', '[\\b]', '\\-', '\\k',
    '[\\k]', '[]', '[^]', '[\\s\\d]', '[\\-]', '\\/', '\\p',
  ];
  for (const src of atoms) {
    for (const flags of ['', 'i']) {
      const re = new RegExp(`^(?:${src})$`, flags);
      const n = parseRegex(src);
      const bad: string[] = [];
      for (let c = 0; c < 128; c++) {
        const js = re.test(String.fromCharCode(c));
        // Under i, the AST's sets are unfolded: compare letters case-folded by hand.
        let ast = atomMatches(n, c);
        if (flags === 'i' && /[a-z]/i.test(String.fromCharCode(c))) {
          const other = String.fromCharCode(c ^ 32).charCodeAt(0);
          ast = ast || atomMatches(n, other);
        }
        if (js !== ast) bad.push(`${JSON.stringify(String.fromCharCode(c))}: V8 ${js}, AST ${ast}`);
      }
      t.same(bad, [], `/${src}/${flags}`);
    }
  }
});

t.test('sequences V8 reads from legacy escapes: the AST spells the same string', async (t) => {
  const cases: Array<[src: string, text: string]> = [
    ['\\0123', '\n3'], // three octal digits at most
    ['\\08', '\x008'], // \0 then the digit 8
    ['\\c1', '\\c1'], // \c without a control letter: a backslash, then c
    ['\\c', '\\c'],
    ['a\\c!', 'a\\c!'],
    ['\\0377', '\x1f7'], // \037 then 7
    ['\\x4', 'x4'], // not a hex escape: x, then the digit
    ['\\u004', 'u004'],
  ];
  for (const [src, text] of cases) {
    t.ok(new RegExp(`^(?:${src})$`).test(text), `V8: /${src}/ matches ${JSON.stringify(text)}`);
    const n = parseRegex(src);
    const items = n.type === 'seq' ? n.items : [n];
    let spelled = '';
    for (const it of items) {
      if (it.type === 'char') spelled += it.ch;
      else if (it.type === 'set') {
        const members = [...it.set.ascii.keys()].filter((c) => it.set.ascii[c]);
        if (members.length !== 1) throw new Error(`/${src}/: a set of ${members.length}`);
        spelled += String.fromCharCode(members[0]);
      } else throw new Error(`/${src}/: ${it.type}`);
    }
    t.equal(spelled, text, `/${src}/ spelled by the AST`);
  }
});
