// The request view: target names and values for GET, forms, JSON and headers; findings; cost of a plain GET.
import t from 'tap';
import type { RequestInput } from '../../src/types.ts';
import { buildRequestView, targetsOf, FINDING_CODES, LINE_COLLECTIONS, PATH_COLLECTIONS, PATH_LINE, REQUEST_LINE, type RequestView } from '../../src/inspect/request-view.ts';

function req(p: Partial<Omit<RequestInput, 'body'>> & { body?: Buffer | string | null }): RequestInput {
  const body = p.body === undefined || p.body === null ? null : Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body);
  return { method: p.method ?? 'GET', url: p.url ?? '/', httpVersion: p.httpVersion ?? '1.1', headers: p.headers ?? [], body, bodyTruncated: p.bodyTruncated };
}
const values = (v: RequestView, name: string) => v.targets.filter((x) => x.name === name).map((x) => x.value);
const codes = (v: RequestView) => v.findings.map((f) => f.code).sort();

t.test('GET: singletons, path, query args with duplicates in order', async (t) => {
  const v = buildRequestView(req({ url: '/shop//items/./../cart?q=a+b%20c&q=%27x&empty=&flag', headers: [['Host', 'example.test'], ['X-Test', 'one'], ['x-test', 'two']] }));
  t.same(values(v, 'method'), ['GET']);
  t.same(values(v, 'protocol'), ['HTTP/1.1']);
  t.same(values(v, 'request_line'), ['GET /shop//items/./../cart?q=a+b%20c&q=%27x&empty=&flag HTTP/1.1']);
  t.same(values(v, 'uri_raw'), ['/shop//items/./../cart?q=a+b%20c&q=%27x&empty=&flag']);
  t.same(values(v, 'path_raw'), ['/shop//items/./../cart']);
  t.same(values(v, 'path'), ['/shop/cart']);
  t.same(targetsOf(v, 'path_segments').map((x) => x.value), ['shop', 'items', '.', '..', 'cart']);
  t.same(values(v, 'query_raw'), ['q=a+b%20c&q=%27x&empty=&flag']);
  t.same(values(v, 'args:q'), ['a b c', "'x", "a b c,'x"], 'both values, decoded once, in order, then joined');
  t.same(values(v, 'args_get:q'), ['a b c', "'x"]);
  t.same(v.findings.map((f) => [f.code, f.target]), [['args_duplicate', 'args:q']]);
  t.same(values(v, 'args:empty'), ['']);
  t.same(values(v, 'args:flag'), ['']);
  t.same(targetsOf(v, 'args_names').map((x) => x.value), ['q', 'q', 'empty', 'flag']);
  t.same(values(v, 'headers:x-test'), ['one', 'two'], 'every occurrence, lowercase key');
  t.same(targetsOf(v, 'headers_names').map((x) => x.value), ['Host', 'X-Test', 'x-test'], 'names as sent');
  t.equal(targetsOf(v, 'args_post').length, 0);
  t.equal(targetsOf(v, 'body_raw').length, 0);
  // byCollection holds exactly the same target objects as targets
  let n = 0;
  for (const list of v.byCollection.values()) n += list.length;
  t.equal(n, v.targets.length);
});

t.test('path: %2f and backslash decoded before normalising; raw kept', async (t) => {
  const v = buildRequestView(req({ url: '/static/..%2f..%2fetc%2fpasswd' }));
  t.same(values(v, 'path_raw'), ['/static/..%2f..%2fetc%2fpasswd']);
  t.same(values(v, 'path'), ['/etc/passwd']);
  t.same(values(v, 'path_segments:1'), ['../../etc/passwd'], 'the encoded slash stays inside its segment');
  const w = buildRequestView(req({ url: '/a\\..\\..\\boot.ini' }));
  t.same(values(w, 'path'), ['/boot.ini']);
  const q = buildRequestView(req({ url: '/p%3Fx=1?real=2' }));
  t.same(values(q, 'path'), ['/p?x=1'], 'an encoded ? is part of the path (split on the raw ? first)');
  t.same(values(q, 'args:real'), ['2']);
  t.same(values(q, 'args:x'), []);
  const abs = buildRequestView(req({ url: 'http://other.test/admin?x=1' }));
  t.same(values(abs, 'path'), ['/admin'], 'absolute-form target: path without scheme and host');
});

t.test('query findings: invalid %, invalid UTF-8, double encoding, control chars', async (t) => {
  const v = buildRequestView(req({ url: '/?a=%zz&b=%c0%af&c=%2527&d=%00x' }));
  t.same(values(v, 'args:a'), ['%zz'], 'invalid sequence kept literally');
  t.same(values(v, 'args:b'), ['\ufffd\ufffd']);
  t.same(values(v, 'args:c'), ['%27']);
  t.same(codes(v), ['ctl_chars', 'multi_encoding', 'url_encoding_invalid', 'utf8_invalid']);
  t.same(targetsOf(v, 'findings').map((x) => x.value).sort(), codes(v), 'findings are targets too');
  t.equal(v.findings.find((f) => f.code === 'multi_encoding')?.target, 'args:c');
  for (const f of v.findings) t.ok(f.code in FINDING_CODES, `${f.code} is documented`);
  const p = buildRequestView(req({ url: '/a%250d%250a' }));
  t.same(codes(p), ['multi_encoding']);
  const crlf = buildRequestView(req({ url: '/a%0d%0aSet-Cookie:x' }));
  t.same(codes(crlf), ['ctl_chars']);
});

t.test('parameter pollution: duplicates across query and body are also seen joined', async (t) => {
  const v = buildRequestView(req({
    method: 'POST', url: '/item?id=1/*&id=*/union/*',
    headers: [['content-type', 'application/x-www-form-urlencoded']], body: 'id=*/select+1',
  }));
  t.same(values(v, 'args:id'), ['1/*', '*/union/*', '*/select 1', '1/*,*/union/*,*/select 1']);
  t.same(values(v, 'args_get:id'), ['1/*', '*/union/*'], 'args_get / args_post keep only the single values');
  t.same(codes(v), ['args_duplicate']);
  const arr = buildRequestView(req({ url: '/?tag[]=a&tag[]=b' }));
  t.same(codes(arr), [], 'PHP-style array names are not pollution');
});

t.test('cookies: every pair of every Cookie header', async (t) => {
  const v = buildRequestView(req({ headers: [['Cookie', 'sid=abc; theme="dark"'], ['cookie', 'sid=evil; lonely']] }));
  t.same(targetsOf(v, 'cookies').map((x) => [x.key, x.value]), [['sid', 'abc'], ['theme', 'dark'], ['sid', 'evil'], ['', 'lonely']]);
  t.same(targetsOf(v, 'cookie_names').map((x) => x.value), ['sid', 'theme', 'sid', '']);
  t.same(values(v, 'cookies:sid'), ['abc', 'evil']);
});

t.test('urlencoded body: args and args_post, query args stay args_get', async (t) => {
  const v = buildRequestView(req({
    method: 'POST', url: '/login?next=%2Fhome',
    headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8']],
    body: 'user=admin%27--&pass=p%40ss+word&user=second',
  }));
  t.same(values(v, 'args:user'), ["admin'--", 'second', "admin'--,second"]);
  t.same(values(v, 'args_post:pass'), ['p@ss word']);
  t.same(values(v, 'args_get:next'), ['/home']);
  t.same(targetsOf(v, 'args').map((x) => x.key), ['next', 'user', 'pass', 'user', 'user'], 'query first, then body, in order, then joins');
  t.same(values(v, 'body_raw'), ['user=admin%27--', 'pass=p%40ss+word', 'user=second'], 'a form body is read raw part by part, as its backend splits it');
  t.same(codes(v), ['args_duplicate']);
});

t.test('body_raw of a form: its &-separated parts (empty ones dropped); kept whole without & or past maxArgs parts, and for any other type', async (t) => {
  const form = (body: string, ct = 'application/x-www-form-urlencoded', limits?: Parameters<typeof buildRequestView>[1]) =>
    values(buildRequestView(req({ method: 'POST', headers: [['Content-Type', ct]], body }), limits), 'body_raw');
  t.same(form('&a=1&&b=%26x&'), ['a=1', 'b=%26x'], 'an encoded & stays inside its part');
  t.same(form('a=1;b=2'), ['a=1;b=2'], '; does not separate');
  t.same(form('only=one'), ['only=one']);
  t.same(form('a=1&b=2&c=3', undefined, { maxArgs: 2 }), ['a=1&b=2&c=3'], 'more parts than are read as arguments: the whole body');
  t.same(form('a&b&c', undefined, { maxArgs: 2 }), ['a&b&c'], 'the shortest text with 3 parts, maxArgs 2: whole');
  t.same(form('a&b', undefined, { maxArgs: 2 }), ['a', 'b'], 'the longest text with at most 2 parts needs no count');
  t.same(form('a=1&b=2', undefined, { maxRawBody: 5 }), ['a=1&b'], 'longer than maxRawBody: its start, whole');
  t.same(form('a=1&b=2', 'text/plain'), ['a=1&b=2'], 'a form-looking body of another type: its backend may read it whole');
  t.same(form('a=1&b=2', 'application/json'), ['a=1&b=2'], 'declared JSON, read as a form too: whole');
  t.same(form('{"a":"1&2"}'), ['{"a":"1&2"}'], 'declared a form but JSON: whole');
  t.same(form('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1&2\r\n--x--\r\n', 'multipart/form-data; boundary=x').length, 1, 'multipart: whole');
});

t.test('JSON body: leaves by path, keys at any depth', async (t) => {
  const body = JSON.stringify({ user: { name: "x' or 1=1", roles: ['a', 'b'] }, items: [{ id: 1 }, { id: '2' }], ok: true, none: null });
  const v = buildRequestView(req({ method: 'POST', url: '/api', headers: [['content-type', 'application/json']], body }));
  t.same(targetsOf(v, 'json').map((x) => [x.key, x.value]), [
    ['user.name', "x' or 1=1"], ['user.roles.0', 'a'], ['user.roles.1', 'b'], ['items.0.id', '1'], ['items.1.id', '2'], ['ok', 'true'], ['none', 'null'],
  ]);
  t.same(values(v, 'args:user.name'), ["x' or 1=1"]);
  t.same(values(v, 'args_post:items.1.id'), ['2']);
  t.same(targetsOf(v, 'args_names').map((x) => x.value).sort(), ['id', 'id', 'items', 'name', 'none', 'ok', 'roles', 'user']);
  t.same(values(v, 'body_raw'), [body]);
  t.same(v.findings, []);
});

t.test('JSON body: root scalar, invalid JSON, JSON sent as form, JSON without Content-Type', async (t) => {
  const s = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/json']], body: '"<script>"' }));
  t.same(values(s, 'json:$'), ['<script>']);
  const bad = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/json']], body: '{"a": "x' }));
  t.same(codes(bad), ['json_invalid']);
  t.same(values(bad, 'body_raw'), ['{"a": "x'], 'an unparsable body is still inspected raw');
  const asForm = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/json']], body: 'a=1&b=%27' }));
  t.same(codes(asForm), ['body_not_declared_type', 'json_invalid']);
  t.same(values(asForm, 'args:b'), ["'"]);
  const jsonAsForm = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/x-www-form-urlencoded']], body: '{"q":"1 union select"}' }));
  t.same(codes(jsonAsForm), ['body_not_declared_type']);
  t.same(values(jsonAsForm, 'json:q'), ['1 union select']);
  const plain = buildRequestView(req({ method: 'POST', headers: [['content-type', 'text/plain']], body: '{"q":"x"}' }));
  t.same(values(plain, 'args:q'), ['x'], 'text/plain JSON (CSRF-style) is read as JSON');
  t.same(codes(plain), ['body_not_declared_type']);
  const none = buildRequestView(req({ method: 'POST', body: 'a=1' }));
  t.same(values(none, 'args:a'), ['1']);
  t.same(codes(none), ['content_type_missing']);
});

t.test('Content-Type confusion and truncation findings', async (t) => {
  const two = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/json'], ['content-type', 'application/x-www-form-urlencoded']], body: '{"a":1}' }));
  t.ok(codes(two).includes('content_type_multiple'));
  const cs = buildRequestView(req({ method: 'POST', headers: [['content-type', 'application/x-www-form-urlencoded; charset=utf-16le']], body: Buffer.from('a=%3Cscript%3E', 'utf16le') }));
  t.ok(codes(cs).includes('content_type_unknown_charset'));
  t.same(values(cs, 'args:a'), ['<script>'], 'a UTF-16 body is decoded by its charset and still inspected');
  const quoted = buildRequestView(req({ method: 'POST', headers: [['content-type', "application/x-www-form-urlencoded; charset='UTF-8'"]], body: 'a=1' }));
  t.same(codes(quoted), [], "charset='utf-8' (single quotes) is still UTF-8");
  const trunc = buildRequestView(req({ method: 'POST', headers: [['content-type', 'text/plain']], body: 'hello', bodyTruncated: true }));
  t.same(codes(trunc), ['body_truncated']);
});

t.test('limits: args_too_many, body_raw cap', async (t) => {
  const url = '/?' + Array.from({ length: 20 }, (_, i) => `a${i}=${i}`).join('&');
  const v = buildRequestView(req({ url }), { maxArgs: 10 });
  t.equal(targetsOf(v, 'args').length, 10);
  t.ok(codes(v).includes('args_too_many'));
  const big = buildRequestView(req({ method: 'POST', headers: [['content-type', 'text/plain']], body: 'x'.repeat(5000) }), { maxRawBody: 1000 });
  t.equal(values(big, 'body_raw')[0].length, 1000);
});


t.test('parameter pollution is a query or form name sent twice; XML elements repeated as a list are not', async (t) => {
  const xml = '<order><item>a</item><item>b</item></order>';
  const v = buildRequestView(req({ method: 'POST', url: '/o?q=1&q=2&one=x', headers: [['Content-Type', 'application/xml']], body: xml }));
  const dup = v.findings.filter((f) => f.code === 'args_duplicate').map((f) => f.target);
  t.same(dup, ['args:q'], 'the query name only');
  const items = v.targets.filter((x) => x.collection === 'xml').map((x) => x.value);
  t.same(items, ['a', 'b'], 'both XML values are targets');
  const joined = targetsOf(v, 'args').filter((x) => x.value === 'a,b');
  t.equal(joined.length, 1, 'and their values are also joined, as any repeated name');
  const noXmlDup = buildRequestView(req({ method: 'POST', url: '/o?one=x', headers: [['Content-Type', 'application/xml']], body: xml }));
  t.same(noXmlDup.findings.filter((f) => f.code === 'args_duplicate'), [], 'XML alone: no pollution finding');
});

t.test('a gate leaves out the query and form parts it knows clean: counted, names kept for pollution; the rest read in full', async (t) => {
  const all = (v: RequestView, c: string) => targetsOf(v, c).map((x) => x.value);
  const asked: string[] = [];
  // A known part comes back with the name the engine kept for it (decoded when it was read in full).
  const known = new Map([['page=2', 'page'], ['city=London', 'city'], ['%71=union', 'q']]);
  const gate = {
    headers: () => false,
    line: () => false,
    part: (kind: number, text: string, start: number, end: number, at: number) => {
      const raw = text.slice(start, end);
      asked.push(`${kind}:${at}:${raw}`);
      return known.get(raw) ?? null;
    },
  };
  const v = buildRequestView(req({
    method: 'POST', url: '/s?%71=union&page=2&q=select&bad=%zz&ctl=a%01b',
    headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'fir%73t=Anne&city=London&zip=NW1+6XE',
  }), undefined, gate);
  t.same(asked, ['0:0:%71=union', '0:1:page=2', '0:2:q=select', '0:3:bad=%zz', '0:4:ctl=a%01b', '1:0:fir%73t=Anne', '1:1:city=London', '1:2:zip=NW1+6XE'], 'each part asked once, as sent, with its kind and place');
  t.same(all(v, 'args_get'), ['select', '%zz', 'a\x01b'], 'known parts make no target');
  t.same(all(v, 'args_post'), ['Anne', 'NW1 6XE']);
  t.same(values(v, 'body_raw'), ['fir%73t=Anne', 'zip=NW1+6XE'], 'nor a body_raw part');
  t.same(v.leftOut, { args: 3, args_get: 2, args_post: 1, args_names: 3, body_raw: 1 }, 'counted, for count: selectors');
  t.ok(all(v, 'args').includes('union,select'), 'a repeated name joins a known part\'s value too (by its kept name)');
  t.same(v.findings.filter((f) => f.code === 'args_duplicate').map((f) => f.target), ['args:q'], 'and is still parameter pollution');
  t.same(v.freshParts, [[{ raw: 'q=select', name: 'q', at: 2 }], [{ raw: 'fir%73t=Anne', name: 'first', at: 0 }, { raw: 'zip=NW1+6XE', name: 'zip', at: 2 }]],
    'parts read in full without a finding of their own, with their decoded names and places: the engine may remember them');
  asked.length = 0;
  const text = buildRequestView(req({ method: 'POST', headers: [['Content-Type', 'text/plain']], body: 'city=London&zip=1' }), undefined, gate);
  t.same(asked, [], 'a form-looking body of another type is not split, so not gated');
  t.same(all(text, 'args_post'), ['London', '1']);
  t.same(text.freshParts, [[], []]);
  const noGate = buildRequestView(req({ url: '/s?page=2' }));
  t.same([noGate.leftOut, noGate.freshParts, all(noGate, 'args_get')], [undefined, undefined, ['2']], 'without a gate: every part in full');
});

t.test('a gate that knows the request line leaves out its targets (counted); the query is still read part by part', async (t) => {
  const asked: string[] = [];
  const gate = {
    headers: () => false,
    line: (kind: number, l: string) => (asked.push(`line${kind}:${l}`), kind === REQUEST_LINE && l.startsWith('GET /known/')),
    part: (kind: number, text: string, start: number, end: number) => (asked.push(`${kind}:${text.slice(start, end)}`), null),
  };
  const v = buildRequestView(req({ url: '/known/a%2fb/c?x=1&y=2' }), undefined, gate);
  t.same(asked, [`line${REQUEST_LINE}:GET /known/a%2fb/c?x=1&y=2 HTTP/1.1`, '0:x=1', '0:y=2'], 'the line asked once, before the parts (not its path line)');
  t.equal(v.lineLeftOut, true);
  t.same([...LINE_COLLECTIONS].filter((c) => targetsOf(v, c).length > 0), [], 'no target of the line');
  t.same(v.leftOut, { method: 1, protocol: 1, request_line: 1, uri_raw: 1, path_raw: 1, path: 1, path_segments: 3, query_raw: 1 }, 'each counted');
  t.same(targetsOf(v, 'args_get').map((x) => x.value), ['1', '2'], 'the query parts read');
  const other = buildRequestView(req({ url: '/other' }), undefined, gate);
  t.same([other.lineLeftOut, other.requestLine, other.lineFindings, values(other, 'path')], [false, 'GET /other HTTP/1.1', 0, ['/other']]);
  const bad = buildRequestView(req({ url: '/a%zz' }), undefined, gate);
  t.equal(bad.lineFindings, 1, 'the findings of the line counted apart (the engine remembers no line that raised one)');
});

t.test('a gate that knows the path line (not the whole line) leaves out the path targets; the query half is read', async (t) => {
  const asked: string[] = [];
  const gate = {
    headers: () => false,
    line: (kind: number, l: string) => (asked.push(`line${kind}:${l}`), kind === PATH_LINE && l === 'GET /s/a%2fb HTTP/1.1'),
    part: () => null,
  };
  const v = buildRequestView(req({ url: '/s/a%2fb?q=1&p=2' }), undefined, gate);
  t.same(asked, [`line${REQUEST_LINE}:GET /s/a%2fb?q=1&p=2 HTTP/1.1`, `line${PATH_LINE}:GET /s/a%2fb HTTP/1.1`], 'the whole line, then the path line');
  t.same([v.lineLeftOut, v.pathLeftOut, v.pathLine], [false, true, 'GET /s/a%2fb HTTP/1.1']);
  t.same([...PATH_COLLECTIONS].filter((c) => targetsOf(v, c).length > 0), [], 'no target of the path half');
  t.same(v.leftOut, { method: 1, protocol: 1, path_raw: 1, path: 1, path_segments: 2 }, 'each counted');
  t.same(['request_line', 'uri_raw', 'query_raw'].map((c) => values(v, c)), [['GET /s/a%2fb?q=1&p=2 HTTP/1.1'], ['/s/a%2fb?q=1&p=2'], ['q=1&p=2']], 'the query half read');
  t.same(targetsOf(v, 'args_get').map((x) => x.value), ['1', '2'], 'its parts read');
  asked.length = 0;
  const other = buildRequestView(req({ url: '/s/a%2fb/c?q=1' }), undefined, gate);
  t.same([other.pathLeftOut, values(other, 'path')], [false, ['/s/a/b/c']], 'another path: read');
  asked.length = 0;
  const noQuery = buildRequestView(req({ url: '/s/a%2fb' }), undefined, gate);
  t.same([asked, noQuery.pathLine, noQuery.pathLeftOut, values(noQuery, 'path')], [[`line${REQUEST_LINE}:GET /s/a%2fb HTTP/1.1`], undefined, false, ['/s/a/b']], 'no query: the path line is not asked');
  const bad = buildRequestView(req({ url: '/a%zz?q=1' }), undefined, gate);
  t.equal(bad.lineFindings, 1, 'a path finding is a finding of the line');
});

t.test('parameter pollution past 16 arguments: found with the name decoded, and not found where there is none', async (t) => {
  const many = Array.from({ length: 20 }, (_, i) => `f${i}=${i}`).join('&');
  const dups = (url: string) => buildRequestView(req({ url })).findings.filter((f) => f.code === 'args_duplicate').map((f) => f.target);
  t.same(dups(`/?${many}`), []);
  t.same(dups(`/?${many}&f%37=again`), ['args:f7'], 'f%37 is f7');
  t.same(dups(`/?${many}&f+7=x`), [], 'f+7 is "f 7", another name');
  // Names of one length whose middle and last characters are the same: one place in the scratch table, so found by
  // probing past each other; then more names than the table takes (a Set).
  const alike = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `${String(i + from).padStart(3, '0')}_mm_z=1`).join('&');
  t.same(dups(`/?${alike(100)}`), [], '100 names that land in one place: none repeated');
  t.same(dups(`/?${alike(100)}&042_mm_z=2`), ['args:042_mm_z'], 'the repeated one found among them');
  t.same(dups(`/?${alike(100, 100)}`), [], 'the previous request\'s names are not this one\'s');
  t.same(dups(`/?${alike(300)}`), []);
  t.same(dups(`/?${alike(300)}&299_mm_z=2`), ['args:299_mm_z'], 'past the table: still found');
});
