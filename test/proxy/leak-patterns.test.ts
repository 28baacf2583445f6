// The response leak table: every pattern compiles, matches its own `match` examples, and no pattern matches any `pass` example; masking; backend addresses.
import t from 'tap';
import { LEAK_PATTERNS } from '../../src/response/leak-patterns.ts';
import { compileLeakPatterns, internalAddressPattern, maskLeaks } from '../../src/response/leak-scan.ts';

t.test('each pattern matches its examples and nothing matches a pass example', async (t) => {
  const ids = new Set<number>();
  const all = compileLeakPatterns();
  for (const p of LEAK_PATTERNS) {
    t.notOk(ids.has(p.id), `id ${p.id} is unique`);
    ids.add(p.id);
    t.ok(p.match.length > 0 && p.pass.length > 0, `${p.id} has examples of both kinds`);
    const one = compileLeakPatterns([p]);
    for (const m of p.match) t.ok(one.scan(m).length > 0, `${p.id} ${p.name} matches ${JSON.stringify(m).slice(0, 80)}`);
    for (const s of p.pass) t.same(all.scan(s).map((h) => h.id), [], `no pattern matches ${p.id}'s pass example ${JSON.stringify(s).slice(0, 80)}`);
  }
  // The families the issue names are all present.
  const families = new Set(LEAK_PATTERNS.map((p) => p.family));
  for (const f of ['sql-error', 'stack-trace', 'directory-listing']) t.ok(families.has(f as never), f);
});

t.test('ordinary pages match nothing', async (t) => {
  const all = compileLeakPatterns(undefined, ['http://127.0.0.1:18081']);
  const pages = [
    '<!doctype html><html><head><title>Shop</title></head><body><h1>Welcome</h1><p>Our SQL course covers SELECT, UNION and JOIN. Errors happen; see the FAQ at /faq.</p><script src="/static/app.js"></script></body></html>',
    '{"items":[{"id":1,"name":"Error handling in Python","path":"/docs/errors"}],"next":null}',
    'User-agent: *\nDisallow: /admin/\n',
    '<form method="post"><input name="q" value="index of"><button>Search</button></form>',
  ];
  for (const p of pages) t.same(all.scan(p), [], p.slice(0, 60));
});

t.test('backend addresses: host:port on a boundary, scheme://host without a port', async (t) => {
  const re = internalAddressPattern(['http://10.0.0.5:8000', 'https://backend.internal']);
  t.ok(re);
  const s = compileLeakPatterns([], ['http://10.0.0.5:8000', 'https://backend.internal']);
  t.equal(s.scan('see http://10.0.0.5:8000/x').length, 1);
  t.equal(s.scan('10.0.0.5:8000').length, 1);
  t.equal(s.scan('110.0.0.5:8000 or 10.0.0.5:80001').length, 0, 'no partial address');
  t.equal(s.scan('link https://backend.internal/a').length, 1);
  t.equal(s.scan('https://backend.internal.example.com/').length, 0);
  t.equal(internalAddressPattern([]), null);
});

t.test('mask replaces matches and merges overlaps', async (t) => {
  const s = compileLeakPatterns();
  const text = "<p>ok</p>You have an error in your SQL syntax; near 'x'<p>end</p>";
  t.equal(maskLeaks(text, s.scan(text)), "<p>ok</p>[hidden]; near 'x'<p>end</p>");
  const hits = [
    { id: 1, name: '', family: '', start: 2, end: 6, matched: '' },
    { id: 2, name: '', family: '', start: 4, end: 8, matched: '' },
  ];
  t.equal(maskLeaks('0123456789', hits, '#'), '01#89');
  t.equal(maskLeaks('abc', []), 'abc');
});
