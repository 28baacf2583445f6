// The clean-target memo: a target a plan found clean is skipped when it comes again, and nothing else changes:
// verdicts equal the memo-less engine's on the whole library's examples, attacks are never skipped, a target
// evaluated after another target matched is not remembered, plans (paranoia, exclusions) do not share entries,
// and the memo stays bounded.
import t from 'tap';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { CleanMemo, valueFingerprint } from '../../src/inspect/clean-memo.ts';
import { blockFingerprint, HeaderBlockMemo } from '../../src/inspect/header-block-memo.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { ExampleRequest, SignatureSpec } from '../../src/types.ts';
import { targetsOf, type RequestView } from '../../src/inspect/request-view.ts';
import { compareOnExamples, libraryExamples, usableLibrary } from '../helpers/library-examples.ts';
import { TEMPLATES_MAX } from '../../src/inspect/part-templates.ts';

const ctx = { paranoia: 1, threshold: 5, mode: 'block' } as const;
const sig = (id: number, pattern: string, over: Partial<SignatureSpec> = {}): SignatureSpec => ({
  id, name: `s${id}`, family: 'test', paranoia: 1, severity: 'critical', targets: ['args', 'headers:user-agent'],
  transforms: ['url_decode_uni', 'lowercase'], operator: 'rx', pattern, tags: [], examples: { match: ['/'], pass: ['/'] }, ...over,
});

/** A ruleset whose operator runs are counted. */
function counted(specs: SignatureSpec[], memo?: number) {
  const runs = { n: 0 };
  const rs = compileRuleset(specs, {
    version: 1, memo,
    compileSignature: (spec, i) => {
      const c = compileSignature(spec, i);
      const test = c.op.test.bind(c.op);
      return { ...c, op: { literals: c.op.literals, test: (v: string) => (runs.n++, test(v)) } };
    },
  });
  return { rs, runs };
}

t.test('a repeated clean request runs no operator the second time; with memo 0 it does', async (t) => {
  const specs = [sig(1, 'union\\s+select'), sig(2, 'x', { operator: 'detect_sqli', pattern: undefined })];
  const url: ExampleRequest = { uri: '/s?q=blue+shoes&page=2', headers: { 'User-Agent': 'Mozilla/5.0 (X11) Firefox/128.0' } };
  const on = counted(specs);
  t.equal(on.rs.inspect(exampleToInput(url), ctx).action, 'allow');
  const first = on.runs.n;
  t.ok(first > 0, `the first request ran ${first} operator tests`);
  t.equal(on.rs.inspect(exampleToInput(url), ctx).action, 'allow');
  t.equal(on.runs.n, first, 'the second request ran none');
  const off = counted(specs, 0);
  off.rs.inspect(exampleToInput(url), ctx);
  const once = off.runs.n;
  off.rs.inspect(exampleToInput(url), ctx);
  t.equal(off.runs.n, 2 * once, 'without the memo every request runs them');
});

t.test('a header selected by name is remembered under its list of signatures: the same value under another header with other signatures is evaluated', async (t) => {
  // The SQL detector (no literals: it runs on every value it selects) on args and User-Agent, and on X-Note alone.
  const detector = { operator: 'detect_sqli', pattern: undefined } as const;
  const specs = [sig(2, 'x', detector), sig(3, 'x', { ...detector, targets: ['headers:x-note'] })];
  const { rs, runs } = counted(specs);
  const ua = 'Mozilla/5.0 (X11) Firefox/128.0';
  t.equal(rs.inspect(exampleToInput({ uri: '/', headers: { 'User-Agent': ua } }), ctx).action, 'allow');
  const first = runs.n;
  t.ok(first > 0, 'the User-Agent was evaluated');
  t.equal(rs.inspect(exampleToInput({ uri: '/', headers: { 'USER-AGENT': ua } }), ctx).action, 'allow');
  t.equal(runs.n, first, 'the same User-Agent (its name in any case) is a hit');
  // (The User-Agent is sent again: without it the example would carry a default one, evaluated anew.)
  t.equal(rs.inspect(exampleToInput({ uri: '/', headers: { 'User-Agent': ua, 'X-Note': ua } }), ctx).action, 'allow');
  t.ok(runs.n > first, 'the same value under X-Note is evaluated with its own signatures');
  const sqli = "1' OR '1'='1";
  t.equal(rs.inspect(exampleToInput({ uri: '/', headers: { 'X-Note': sqli } }), ctx).action, 'block');
  t.equal(rs.inspect(exampleToInput({ uri: '/', headers: { 'user-agent': sqli } }), ctx).action, 'block');
});

t.test('only clean targets are remembered: the same attack blocks every time', async (t) => {
  const rs = compileRuleset([sig(1, 'union\\s+select')], { version: 1 });
  for (let i = 0; i < 3; i++) t.equal(rs.inspect(exampleToInput('/s?q=1+union+select+2'), ctx).action, 'block', `attack ${i + 1}`);
  t.equal(rs.inspect(exampleToInput('/s?q=1+union+of+2'), ctx).action, 'allow');
  t.equal(rs.inspect(exampleToInput('/s?q=1+union+select+2'), ctx).action, 'block', 'a clean value under the same key does not hide another');
});

t.test('a target evaluated after another one matched is not remembered (signatures that matched were skipped on it)', async (t) => {
  const rs = compileRuleset([sig(1, 'evil')], { version: 1 });
  const both = rs.inspect(exampleToInput('/s?a=evil1&b=evil2'), ctx);
  t.same(both.matches.map((m) => m.target), ['args:a'], 'signature 1 counted once, on a');
  t.equal(rs.inspect(exampleToInput('/s?b=evil2'), ctx).action, 'block', 'b alone still blocks');
});

t.test('plans do not share entries: a value clean under an exclusion still blocks where the exclusion does not apply', async (t) => {
  const rs = compileRuleset([sig(1, 'union\\s+select')], { version: 1, exclusions: [{ id: 'e', rule: '1', pathPrefix: '/search/' }] });
  t.equal(rs.inspect(exampleToInput('/search/x?q=1+union+select+2'), ctx).action, 'allow', 'excluded on /search/');
  t.equal(rs.inspect(exampleToInput('/search/x?q=1+union+select+2'), ctx).action, 'allow');
  t.equal(rs.inspect(exampleToInput('/other?q=1+union+select+2'), ctx).action, 'block', 'the same target elsewhere blocks');
  const pl = compileRuleset([sig(1, 'union\\s+select', { paranoia: 2 })], { version: 1 });
  t.equal(pl.inspect(exampleToInput('/s?q=1+union+select+2'), ctx).action, 'allow', 'above the paranoia level at PL1');
  t.equal(pl.inspect(exampleToInput('/s?q=1+union+select+2'), { ...ctx, paranoia: 2 }).action, 'block', 'PL2 has its own plan');
});

t.test('the full library decides every example the same with and without the memo, first and second time', async (t) => {
  const lib = usableLibrary();
  const examples = libraryExamples(lib);
  for (const paranoia of [1, 2] as const) {
    const off = compileRuleset(lib, { version: 1, memo: 0 });
    const on = compileRuleset(lib, { version: 1 });
    let differ = 0;
    let blocked = 0;
    for (const pass of [1, 2]) {
      const r = compareOnExamples(t, off, on, examples, { ...ctx, paranoia }, `PL${paranoia} pass ${pass}`);
      differ += r.differ;
      blocked += r.blocked;
    }
    t.equal(differ, 0, `PL${paranoia}: ${examples.length} examples × 2 passes, same verdicts and matches (${blocked / 2} blocked)`);
    t.ok(blocked > 0);
  }
});

t.test('a header block known clean is skipped whole, even a header too long for the target memo; any change to it is evaluated', async (t) => {
  const specs = [sig(2, 'x', { operator: 'detect_sqli', pattern: undefined, targets: ['args', 'headers'] })];
  const { rs, runs } = counted(specs);
  const ua = 'Mozilla/5.0 ' + 'x'.repeat(300); // longer than a target the memo keeps (256)
  const req = (q: string, headers: Record<string, string> = {}) => exampleToInput({ uri: `/s?q=${q}`, headers: { 'User-Agent': ua, ...headers } });
  t.equal(rs.inspect(req('a'), ctx).action, 'allow');
  const first = runs.n;
  t.equal(rs.inspect(req('b'), ctx).action, 'allow');
  t.equal(runs.n, first + 1, 'the second request with the same headers ran the detector on its new argument only');
  t.equal(rs.inspect(req('c', { 'X-Extra': 'y' }), ctx).action, 'allow');
  t.ok(runs.n >= first + 3, 'another block: the long User-Agent is evaluated again');
  t.equal(rs.inspect(req('d', { 'X-Extra': "1' OR '1'='1" }), ctx).action, 'block', 'one value changed: evaluated, and it blocks');
  t.equal(rs.inspect(req('e', { 'X-EXTRA': 'y' }), ctx).action, 'allow', 'a name in another case is another block (headers_names sees names as sent)');
});

t.test('a header block is not remembered when anything in the request matched (signatures that matched were skipped on it)', async (t) => {
  // Signature 1 reads args before headers: on the first request it matches on `q` and is skipped on the User-Agent.
  const rs = compileRuleset([sig(1, 'evil')], { version: 1 });
  const headers = { 'User-Agent': 'evil-bot/1.0' };
  const both = rs.inspect(exampleToInput({ uri: '/s?q=evil', headers }), ctx);
  t.same(both.matches.map((m) => m.target), ['args:q']);
  t.equal(rs.inspect(exampleToInput({ uri: '/s?q=fine', headers }), ctx).action, 'block', 'the same headers alone still block');
});

t.test('a header block is remembered per plan: clean at PL1 does not hide a PL2 signature, nor an excluded path another path', async (t) => {
  const headers = { 'X-Note': '1 union select 2' };
  // Signature 9 reads the headers at every level and on every path, so each plan evaluates (and remembers) the block.
  const other = sig(9, 'zzz', { targets: ['headers'] });
  const pl = compileRuleset([sig(1, 'union\\s+select', { paranoia: 2, targets: ['headers'] }), other], { version: 1 });
  for (let i = 0; i < 2; i++) t.equal(pl.inspect(exampleToInput({ uri: '/', headers }), ctx).action, 'allow', 'PL1');
  t.equal(pl.inspect(exampleToInput({ uri: '/', headers }), { ...ctx, paranoia: 2 }).action, 'block', 'PL2');
  const ex = compileRuleset([sig(1, 'union\\s+select', { targets: ['headers'] }), other], { version: 1, exclusions: [{ id: 'e', rule: '1', pathPrefix: '/search/' }] });
  for (let i = 0; i < 2; i++) t.equal(ex.inspect(exampleToInput({ uri: '/search/x', headers }), ctx).action, 'allow', 'excluded on /search/');
  t.equal(ex.inspect(exampleToInput({ uri: '/other', headers }), ctx).action, 'block', 'the same headers elsewhere');
});

t.test('a request line known clean leaves out its targets; they still count; any change to the line is evaluated', async (t) => {
  const views: RequestView[] = [];
  const rs = compileRuleset([
    sig(1, 'admin', { targets: ['path', 'uri_raw', 'request_line'], transforms: ['lowercase'] }),
    sig(2, '4', { targets: ['count:path_segments'], transforms: [], operator: 'gt', pattern: '4' }),
    sig(3, 'union\\s+select', { targets: ['args', 'query_raw'] }),
  ], { version: 1, observeView: (v) => views.push(v) });
  const get = (uri: string) => rs.inspect(exampleToInput({ uri }), ctx);
  t.equal(get('/a/b/c/d?x=1').action, 'allow');
  t.equal(views[0].lineLeftOut, false, 'the first time: read');
  t.equal(get('/a/b/c/d?x=1').action, 'allow');
  t.equal(views[1].lineLeftOut, true, 'the second time: left out');
  t.same(['method', 'request_line', 'uri_raw', 'path', 'path_segments', 'query_raw'].map((c) => targetsOf(views[1], c).length), [0, 0, 0, 0, 0, 0], 'no target of the line');
  t.same(views[1].leftOut?.path_segments, 4, 'its segments counted');
  t.same(get('/a/b/c/d/e?x=1').matches.map((m) => `${m.id}@${m.target}`), ['2@count:path_segments'], 'another line (five segments): read, and it matches');
  for (let i = 0; i < 2; i++) get('/a/b/c/d?x=1&y=2');
  t.equal(views[views.length - 1].lineLeftOut, true);
  t.equal(get('/a/b/c/d?x=1&y=1+union+select+2').action, 'block', 'a new query part in a new line: blocks');
  t.equal(get('/Admin/b?x=1').action, 'block', 'a changed path blocks');
  t.equal(get('/Admin/b?x=1').action, 'block', 'every time (a line that matched is not remembered)');
  t.equal(rs.inspect(exampleToInput({ method: 'POST', uri: '/a/b/c/d?x=1', headers: { 'Content-Type': 'text/plain' }, body: 'admin' }), ctx).action, 'allow', 'another method is another line');
});

t.test('a path line known clean leaves out the path targets of a new query; its query half is evaluated', async (t) => {
  const views: RequestView[] = [];
  const rs = compileRuleset([
    sig(1, 'admin', { targets: ['path', 'uri_raw'], transforms: ['lowercase'] }),
    sig(2, '2', { targets: ['count:path_segments'], transforms: [], operator: 'gt', pattern: '2' }),
    sig(3, 'union\\s+select', { targets: ['query_raw'], transforms: ['url_decode_uni'] }),
  ], { version: 1, observeView: (v) => views.push(v) });
  const get = (uri: string) => rs.inspect(exampleToInput({ uri }), ctx);
  t.equal(get('/a/b?page=1').action, 'allow');
  t.same([views[0].lineLeftOut, views[0].pathLeftOut], [false, false], 'the first time: read');
  t.equal(get('/a/b?page=2').action, 'allow');
  t.same([views[1].lineLeftOut, views[1].pathLeftOut], [false, true], 'a new query on the same path: the path half left out');
  t.same(['method', 'path', 'path_segments'].map((c) => targetsOf(views[1], c).length), [0, 0, 0], 'no path target');
  t.same(['uri_raw', 'query_raw'].map((c) => targetsOf(views[1], c).map((x) => x.value)), [['/a/b?page=2'], ['page=2']], 'the query half read');
  t.equal(views[1].leftOut?.path_segments, 2, 'its segments counted');
  t.same(get('/a/b?page=3&x=1%20union%20select%202').matches.map((m) => `${m.id}@${m.target}`), ['3@query_raw'], 'an attack in a new query: found in query_raw');
  t.same(get('/a/b/c?page=3').matches.map((m) => `${m.id}@${m.target}`), ['2@count:path_segments'], 'another path: read, and it matches');
  t.equal(get('/Admin/b?page=1').action, 'block', 'a changed path blocks');
  t.equal(get('/Admin/b?page=2').action, 'block', 'and with another query (a path line that matched is not remembered)');
  const late = compileRuleset([sig(1, 'evil', { targets: ['args', 'path'], transforms: [] })], { version: 1 });
  t.same(late.inspect(exampleToInput({ uri: '/evil?q=evil' }), ctx).matches.map((m) => m.target), ['args:q'], 'signature 1 matched on the argument first (skipped on the path)');
  t.same(late.inspect(exampleToInput({ uri: '/evil?q=fine' }), ctx).matches.map((m) => m.target), ['path'], 'the same path with a clean query: evaluated, and it matches');
  for (let i = 0; i < 3; i++) {
    const v = rs.inspect(exampleToInput({ uri: `/a%zz?page=${i}` }), ctx);
    t.same(v.findings.map((f) => `${f.code}@${f.target}`), ['url_encoding_invalid@path'], `a path with a finding: reported on request ${i + 1}`);
  }
});

t.test('part templates: a form sent again is known part by part at its places, even past what the memo holds', async (t) => {
  const views: RequestView[] = [];
  // A memo of one entry per generation: it cannot hold a form's parts, so whatever is left out came from the template.
  const rs = compileRuleset([sig(1, 'evil', { targets: ['args', 'body_raw'], transforms: [] })], { version: 1, memo: 1, observeView: (v) => views.push(v) });
  const post = (body: string, uri = '/form') => rs.inspect(exampleToInput({ method: 'POST', uri, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }), ctx);
  const leftOut = () => views[views.length - 1].leftOut?.args ?? 0;
  t.equal(post('a=1&b=2&c=3&d=4').action, 'allow');
  t.equal(post('a=1&b=2&c=3&d=4').action, 'allow');
  t.equal(leftOut(), 4, 'every part at its place: left out');
  t.equal(post('a=9&b=2&c=3&d=4').action, 'allow');
  t.same([leftOut(), targetsOf(views[views.length - 1], 'args').map((x) => x.value)], [3, ['9']], 'one part changed: only it is read');
  t.equal(post('a=9&b=2&c=3&d=evil').action, 'block', 'an attack in place of a known part: read and blocked');
  t.equal(post('a=9&b=2&c=3&d=evil').action, 'block', 'every time (a blocked form teaches the template nothing)');
  t.equal(post('d=4&a=9&b=2&c=3').action, 'allow');
  t.ok(leftOut() <= 2, `the same parts at other places: read, but for what the memo's two entries hold (${leftOut()} left out)`);
  t.equal(post('d=4&a=9&b=2&c=3').action, 'allow');
  t.equal(leftOut(), 4, 'and learnt at their new places');
  t.equal(post('d=4&a=9&b=2&c=3', '/other').action, 'allow');
  t.equal(leftOut(), 0, 'another path has its own template');
  t.equal(post('d=4&a=9&b=2&c=3&x=%zz').action, 'allow');
  t.equal(post('d=4&a=9&b=2&c=3&x=%zz').findings.some((f) => f.code === 'url_encoding_invalid'), true, 'a part with a finding is not learnt: reported every time');
});

t.test('part templates are bounded across paths and plans: past TEMPLATES_MAX all are dropped and learnt again', async (t) => {
  const views: RequestView[] = [];
  const rs = compileRuleset([sig(1, 'evil', { targets: ['args'], transforms: [] })], { version: 1, memo: 1, observeView: (v) => views.push(v) });
  const post = (uri: string, paranoia: 1 | 2 = 1) => rs.inspect(exampleToInput({ method: 'POST', uri, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2&c=3&d=4' }), { ...ctx, paranoia });
  const leftOut = () => views[views.length - 1].leftOut?.args ?? 0;
  for (let i = 0; i < 2; i++) post('/first');
  t.equal(leftOut(), 4, 'learnt');
  for (let p = 0; p < TEMPLATES_MAX - 2; p++) post(`/p${p}`, p % 2 === 0 ? 1 : 2);
  post('/first');
  t.equal(leftOut(), 4, `still known with ${TEMPLATES_MAX - 1} templates kept (two plans)`);
  post('/one-more');
  post('/and-another');
  post('/first');
  t.ok(leftOut() <= 2, `dropped once ${TEMPLATES_MAX} are kept (${leftOut()} left out, by the one-entry memo at most)`);
  post('/first');
  t.equal(leftOut(), 4, 'and learnt again');
});

t.test('part templates keep the decoded names: parameter pollution is found with a part known at its place', async (t) => {
  const rs = compileRuleset([sig(1, 'evil')], { version: 1, memo: 1 });
  const get = (uri: string) => rs.inspect(exampleToInput(uri), ctx);
  for (let i = 0; i < 2; i++) get('/p?f%37=1&g=2');
  t.same(get('/p?f%37=1&g=2&f7=3').findings.map((f) => `${f.code}@${f.target}`), ['args_duplicate@args:f7'], 'f%37 (known at place 0) is f7');
});

t.test('a request line is remembered only from a clean request, without a finding, per plan', async (t) => {
  const rs = compileRuleset([sig(1, 'evil', { targets: ['args', 'uri_raw'], transforms: [] })], { version: 1 });
  const form = (body: string) => exampleToInput({ method: 'POST', uri: '/evil', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  const first = rs.inspect(form('q=evil'), ctx);
  t.same(first.matches.map((m) => m.target), ['args:q'], 'signature 1 matched on the form field (so it was skipped on uri_raw)');
  t.same(rs.inspect(form('q=fine'), ctx).matches.map((m) => m.target), ['uri_raw'], 'the same line with a clean form: evaluated, and it matches');
  for (let i = 0; i < 3; i++) {
    const v = rs.inspect(exampleToInput({ uri: '/a%zzb' }), ctx);
    t.same(v.findings.map((f) => `${f.code}@${f.target}`), ['url_encoding_invalid@path'], `a line with a finding: reported on request ${i + 1}`);
  }
  const ex = compileRuleset([sig(1, 'union\\s+select', { targets: ['uri_raw'], transforms: ['url_decode_uni'] })], {
    version: 1, exclusions: [{ id: 'e', rule: '1', cidrs: ['10.0.0.0/8'] }],
  });
  const from = (clientIp: string) => ex.inspect(exampleToInput({ uri: '/s?q=1%20union%20select%202' }), { ...ctx, clientIp }).action;
  t.same([from('10.1.2.3'), from('10.1.2.3')], ['allow', 'allow'], 'excluded for 10.0.0.0/8');
  t.equal(from('192.0.2.7'), 'block', 'the same line from another client');
});

t.test('a header block whose lines raised a finding is not remembered: the finding is reported on every request', async (t) => {
  const rs = compileRuleset([sig(1, 'evil')], { version: 1 });
  for (let i = 0; i < 3; i++) {
    const v = rs.inspect(exampleToInput({ uri: `/s?q=${i}`, headers: { 'X-A': 'a\x01b' } }), ctx);
    t.same(v.findings.map((f) => `${f.code}@${f.target}`), ['ctl_chars@headers:x-a'], `request ${i + 1}`);
  }
});

t.test('with the header block known clean, Content-Type still decides how the body is read', async (t) => {
  const rs = compileRuleset([sig(1, 'evil', { targets: ['json'] })], { version: 1 });
  const post = (body: string) => exampleToInput({ method: 'POST', uri: '/api', headers: { 'Content-Type': 'application/json' }, body });
  for (let i = 0; i < 2; i++) t.equal(rs.inspect(post('{"a":"fine"}'), ctx).action, 'allow');
  t.equal(rs.inspect(post('{"a":"evil"}'), ctx).action, 'block', 'same headers (same length), JSON read and the attack found');
});

t.test('the header block memo is bounded, and blocks of one fingerprint are compared line by line (at most 8 kept)', async (t) => {
  const m = new HeaderBlockMemo(50);
  const block = (i: number): Array<[string, string]> => [['Host', 'example.com'], ['X-N', String(i).padStart(6, '0')]];
  const fp = blockFingerprint(block(0));
  // Blocks that differ in one value's last character: different numbers (a lookup compares only its own block).
  t.not(blockFingerprint(block(1)), fp, 'a value of the same length with another last character: another fingerprint');
  t.not(blockFingerprint([['Host', 'example.com'], ['Content-Length', '2050']]), blockFingerprint([['Host', 'example.com'], ['Content-Length', '2049']]));
  // Blocks of one fingerprint (forced here: the memo takes the number from its caller) are told apart line by line.
  for (let i = 0; i < 100; i++) m.add(fp, block(i), 1);
  t.ok(m.size <= 16, `${m.size} blocks held for one fingerprint (two generations of at most 8)`);
  let hits = 0;
  for (let i = 0; i < 100; i++) if (m.has(fp, block(i), 1)) hits++;
  t.ok(hits > 0 && hits <= 16, `${hits} of the 100 found`);
  t.notOk(m.has(fp, block(500), 1), 'a block never added is not found');
  t.notOk(m.has(fp, block(0), 2), 'nor one added for another plan');
  const many = new HeaderBlockMemo(50);
  for (let i = 0; i < 10_000; i++) {
    const b: Array<[string, string]> = [['X-N', 'v'.repeat(i % 3000)], ['X-I', String(i)]];
    many.add(blockFingerprint(b), b, 1);
  }
  t.ok(many.size <= 100, `${many.size} blocks held after 10,000 (cap 50 per generation)`);
  t.equal(blockFingerprint([['X', 'v'.repeat(5000)]]), -1, 'a block over 4,096 characters is not remembered');
});

t.test('the memo is bounded: two generations of at most `cap` entries; a hit keeps an entry young', async (t) => {
  const m = new CleanMemo(100);
  for (let i = 0; i < 10_000; i++) m.add(`k${i}`, 1);
  t.ok(m.size <= 200, `size ${m.size} after 10,000 adds`);
  t.ok(m.has("k9999", 1));
  t.notOk(m.has("k1", 1), 'old entries are gone');
  const k = new CleanMemo(10);
  k.add("hot", 1);
  for (let i = 0; i < 200; i++) {
    k.add(`cold${i}`, 1);
    t.ok(k.has("hot", 1), `hot kept (${i})`);
  }
  const rs = compileRuleset([sig(1, 'union\\s+select')], { version: 1, memo: 50 });
  for (let i = 0; i < 2000; i++) rs.inspect(exampleToInput(`/s?q=value${i}`), ctx);
  t.equal(rs.inspect(exampleToInput('/s?q=1+union+select+2'), ctx).action, 'block', 'still blocks after a flood of new values');
});

t.test('the memo\'s two generations: every value either holds is found, after many turns', async (t) => {
  const m = new CleanMemo(64);
  let missing = 0;
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    m.add(`value-${i}`, 1);
    // Now and then, the last 64 (in the young generation or the old one, whatever the turn), newest first: a hit in
    // the old one moves it to the young one, which turns over only once all 64 are asked.
    if (i % 97 !== 0 || i < 63) continue;
    for (let j = i; j > i - 64; j--) {
      checked++;
      if (!m.has(`value-${j}`, 1)) missing++;
    }
  }
  t.equal(missing, 0, `none of the last 64 values added is missed (${checked} lookups)`);
  let found = 0;
  for (let i = 0; i < 4800; i++) if (m.has(`value-${i}`, 1)) found++;
  t.equal(found, 0, 'values two generations old are gone');
  t.notOk(m.has('never-added', 1));
});

t.test('keys: ignored only where they cannot change the result', async (t) => {
  const neg = compileRuleset([sig(1, 'evil', { targets: ['args', '!args:comment'] })], { version: 1 });
  t.equal(neg.inspect(exampleToInput('/s?comment=evil'), ctx).action, 'allow', 'comment is not inspected');
  t.equal(neg.inspect(exampleToInput('/s?other=evil'), ctx).action, 'block', 'the same value under another name is');
  const keyed = compileRuleset([sig(1, 'evil', { targets: ['args:q'] })], { version: 1 });
  t.equal(keyed.inspect(exampleToInput('/s?x=evil'), ctx).action, 'allow', 'x is not selected');
  t.equal(keyed.inspect(exampleToInput('/s?q=evil'), ctx).action, 'block', 'q is');
  const ex = compileRuleset([sig(1, 'evil')], { version: 1, exclusions: [{ id: 'e', rule: '1', target: 'args:note' }] });
  t.equal(ex.inspect(exampleToInput('/s?note=evil'), ctx).action, 'allow', 'excluded target');
  t.equal(ex.inspect(exampleToInput('/s?name=evil'), ctx).action, 'block', 'another target with the same value');
  const json = counted([sig(1, 'evil', { targets: ['json'] })]);
  const body = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i, tag: 'new' })) });
  const v = json.rs.inspect(exampleToInput({ method: 'POST', uri: '/api', headers: { 'content-type': 'application/json' }, body }), ctx);
  t.equal(v.action, 'allow');
  t.ok(json.runs.n < 60, `a value repeated under 50 JSON paths is tested once per distinct value (${json.runs.n} runs for 100 leaves)`);
});

t.test('a match elsewhere in the request does not stop the memo for targets that signature cannot reach', async (t) => {
  const specs = [sig(1, '^\\d+\\.\\d+\\.\\d+\\.\\d+', { targets: ['headers:host'], severity: 'warning' }), sig(2, 'union\\s+select')];
  const { rs, runs } = counted(specs);
  const url: ExampleRequest = { uri: '/s?q=blue+shoes', headers: { Host: '10.0.0.1', 'User-Agent': 'Mozilla/5.0 (X11) Firefox/128.0' } };
  const first = rs.inspect(exampleToInput(url), ctx);
  t.same(first.matches.map((m) => m.id), [1], 'the Host warning matches (below the threshold)');
  const n = runs.n;
  const again = rs.inspect(exampleToInput(url), ctx);
  t.same(again.matches.map((m) => m.id), [1], 'and matches again');
  t.equal(runs.n - n, 1, 'the second request ran only signature 1 on Host: the args and User-Agent were remembered clean');
  t.equal(rs.inspect(exampleToInput({ ...url, uri: '/s?q=1+union+select+2' } as ExampleRequest), ctx).action, 'block');
});

t.test('the memo steps aside for a collection whose values do not come back, and tries again later', async (t) => {
  // A signature without literals runs on every value it is not told is clean.
  const { rs, runs } = counted([sig(1, 'x', { operator: 'detect_sqli', pattern: undefined, targets: ['args', 'headers:user-agent'] })]);
  const ua = { 'User-Agent': 'Mozilla/5.0 (X11) Firefox/128.0' };
  const twice = (uri: string) => {
    rs.inspect(exampleToInput({ uri, headers: ua }), ctx);
    const n = runs.n;
    rs.inspect(exampleToInput({ uri, headers: ua }), ctx);
    return runs.n - n;
  };
  t.equal(twice('/s?q=same'), 0, 'at first the memo skips a repeated argument');
  for (let i = 0; i < 1100; i++) rs.inspect(exampleToInput({ uri: `/s?q=unique${i}`, headers: ua }), ctx);
  t.equal(twice('/s?q=again'), 1, 'after 1,024 new arguments in a row, args are evaluated without the memo (User-Agent still remembered)');
  for (let i = 0; i < 16 * 1024; i++) rs.inspect(exampleToInput({ uri: `/s?q=more${i}`, headers: ua }), ctx);
  t.equal(twice('/s?q=later'), 0, 'after the pause the memo is asked again');
});

t.test('a form body is evaluated part by part: a part seen clean before is a hit, an attack in any part blocks every time', async (t) => {
  // The SQL detector (no literals: it runs on every value it selects) on body_raw only.
  const { rs, runs } = counted([sig(1, 'x', { operator: 'detect_sqli', pattern: undefined, targets: ['body_raw'], transforms: ['url_decode_uni'] })]);
  const form = (first: string, last = 'comment=See+you+on+Monday') => exampleToInput({
    uri: '/checkout', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `first=${first}&city=London&zip=NW1+6XE&country=GB&${last}`,
  });
  t.equal(rs.inspect(form('Anne'), ctx).action, 'allow');
  t.equal(runs.n, 5, 'the first form: its 5 parts');
  t.equal(rs.inspect(form('Bob'), ctx).action, 'allow');
  t.equal(runs.n, 6, 'the next one with one field changed: that part alone');
  const attack = form('Bob', "comment=x%27%20UNION%20SELECT%20password%20FROM%20users--");
  t.equal(rs.inspect(attack, ctx).action, 'block');
  t.equal(rs.inspect(attack, ctx).action, 'block', 'and again');
  const json = exampleToInput({ uri: '/checkout', headers: { 'Content-Type': 'application/json' }, body: '{"first":"Carol","city":"London"}' });
  const n = runs.n;
  rs.inspect(json, ctx);
  t.equal(runs.n - n, 1, 'a JSON body is one body_raw target');
});

t.test('in a form, body_raw does not match across two fields (its backend never reads them as one string); elsewhere it does', async (t) => {
  const rs = compileRuleset([sig(1, 'union&select', { targets: ['body_raw'], transforms: [] })], { version: 1 });
  const body = 'a=1+union&select=2';
  const as = (type: string) => rs.inspect(exampleToInput({ uri: '/', headers: { 'Content-Type': type }, body }), ctx).action;
  t.equal(as('application/x-www-form-urlencoded'), 'allow');
  t.equal(as('text/plain'), 'block');
  t.equal(as('application/json'), 'block', 'declared JSON: its backend may read the raw text');
});

t.test('a query or form part a plan found clean is left out of the next view whole; a changed part is read in full', async (t) => {
  const views: RequestView[] = [];
  const rs = compileRuleset([sig(1, 'x', { operator: 'detect_sqli', pattern: undefined, targets: ['args', 'body_raw'] })], { version: 1, observeView: (v) => views.push(v) });
  const post = (first: string) => exampleToInput({
    method: 'POST', uri: '/checkout?step=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `first=${first}&city=London&zip=NW1+6XE`,
  });
  t.equal(rs.inspect(post('Anne'), ctx).action, 'allow');
  t.equal(views[0].leftOut, undefined, 'the first request: every part read');
  t.equal(rs.inspect(post('Bob'), ctx).action, 'allow');
  t.same(views[1].leftOut, {
    method: 1, protocol: 1, request_line: 1, uri_raw: 1, path_raw: 1, path: 1, path_segments: 1, query_raw: 1,
    args: 3, args_get: 1, args_post: 2, args_names: 3, body_raw: 2,
  }, 'the next: the request line, the query part and two form parts left out');
  t.same(targetsOf(views[1], 'body_raw').map((x) => x.value), ['first=Bob'], 'the changed part alone is read');
  t.equal(rs.inspect(post("Bob'+OR+'1'%3D'1"), ctx).action, 'block', 'an attack in the changed part blocks');
  const off = compileRuleset([sig(1, 'x')], { version: 1, memo: 0, observeView: (v) => views.push(v) });
  for (let i = 0; i < 2; i++) off.inspect(post('Anne'), ctx);
  t.equal(views.length, 3, 'memo 0: no gate (the view is built without one)');
});

t.test('parts are remembered only from a request that matched nothing, per plan, and without a finding of their own', async (t) => {
  const rs = compileRuleset([sig(1, 'evil')], { version: 1 });
  const both = rs.inspect(exampleToInput({ uri: '/s?a=evil&b=more-evil' }), ctx);
  t.same(both.matches.map((m) => m.target), ['args:a'], 'signature 1 matched on a, so it was skipped on b');
  t.equal(rs.inspect(exampleToInput({ uri: '/s?b=more-evil' }), ctx).action, 'block', 'b was not remembered clean');
  const ex = compileRuleset([sig(1, 'union\\s+select')], { version: 1, exclusions: [{ id: 'e', rule: '1', pathPrefix: '/search/' }] });
  for (let i = 0; i < 2; i++) t.equal(ex.inspect(exampleToInput({ uri: '/search/x?q=1+union+select+2' }), ctx).action, 'allow', 'excluded on /search/');
  t.equal(ex.inspect(exampleToInput({ uri: '/other?q=1+union+select+2' }), ctx).action, 'block', 'the same part on another path');
  const form = (body: string) => exampleToInput({ method: 'POST', uri: '/search/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  t.equal(ex.inspect(form('q=1+union+select+2'), ctx).action, 'allow');
  t.equal(ex.inspect(form('q=1+union+select+2'), ctx).action, 'allow', 'a form part known clean on /search/');
  t.equal(ex.inspect(exampleToInput({ method: 'POST', uri: '/other', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'q=1+union+select+2' }), ctx).action, 'block', 'blocks elsewhere');
  for (let i = 0; i < 3; i++) {
    const v = rs.inspect(exampleToInput({ uri: `/s?n=${i}&x=a%01b` }), ctx);
    t.same(v.findings.map((f) => `${f.code}@${f.target}`), ['ctl_chars@args:x'], `a part with a finding: reported on request ${i + 1}`);
  }
});

t.test('left-out parts still count for count: selectors and still join a repeated name', async (t) => {
  const rs = compileRuleset([
    sig(1, '2', { targets: ['count:args_get'], transforms: [], operator: 'gt', pattern: '2' }),
    sig(2, 'union,select', { transforms: [] }),
  ], { version: 1 });
  for (let i = 0; i < 2; i++) t.equal(rs.inspect(exampleToInput({ uri: '/s?a=1&b=2' }), ctx).action, 'allow');
  const three = rs.inspect(exampleToInput({ uri: '/s?a=1&b=2&c=3' }), ctx);
  t.same(three.matches.map((m) => `${m.id}@${m.target}=${m.value}`), ['1@count:args_get=3'], 'two parts left out, counted: 3 query arguments');
  for (let i = 0; i < 2; i++) t.equal(rs.inspect(exampleToInput({ uri: '/s?q=union' }), ctx).action, 'allow');
  const polluted = rs.inspect(exampleToInput({ uri: '/s?q=union&q=select' }), ctx);
  t.same(polluted.matches.map((m) => `${m.id}@${m.target}=${m.value}`), ['2@args:q=union,select'], 'the known part q=union is joined with the new one');
  for (let i = 0; i < 2; i++) t.equal(rs.inspect(exampleToInput({ uri: '/t?%71=union' }), ctx).action, 'allow');
  const encoded = rs.inspect(exampleToInput({ uri: '/t?%71=union&q=select' }), ctx);
  t.same(encoded.matches.map((m) => `${m.id}@${m.target}=${m.value}`), ['2@args:q=union,select'], 'a known part is joined by its decoded name (%71 is q)');
});

t.test('a part keeps its decoded name in the memo, across generations; a part found only as a target value has none', async (t) => {
  const m = new CleanMemo(4);
  m.addPart('%71=1', 'q', -1);
  t.equal(m.partName('%71=1', 0, 5, -1), 'q');
  t.equal(m.partName('%71=1', 0, 5, -2), null, 'another place: not known');
  m.add('x=1', 5);
  t.equal(m.partName('x=1', 0, 3, 5), null, 'kept as a target value, without a name');
  m.addPart('x=1', 'x', -1);
  t.equal(m.partName('x=1', 0, 3, -1), 'x', 'the same string as a part gets its name');
  for (let i = 0; i < 3; i++) m.add(`filler${i}`, 5);
  t.equal(m.partName('%71=1', 0, 5, -1), 'q', 'moved from the old generation with its name');
  for (let i = 0; i < 8; i++) m.add(`more${i}`, 5);
  t.equal(m.partName('%71=1', 0, 5, -1), null, 'gone after two generations without a hit');
});

t.test('the memo finds a value by a fingerprint of some of its characters, then compares it whole', async (t) => {
  const m = new CleanMemo(1000);
  // 200 characters: values that differ in one unsampled position share a fingerprint.
  const base = 'a'.repeat(200);
  const at = (i: number, c: string) => base.slice(0, i) + c + base.slice(i + 1);
  let same = 0;
  for (let i = 1; i < 199; i++) if (valueFingerprint(at(i, 'b')) === valueFingerprint(base)) same++;
  t.ok(same > 100, `${same} one-character changes share the fingerprint of the original`);
  m.add(base, 1);
  const twin = [...Array(199).keys()].map((i) => at(i, 'b')).filter((v) => valueFingerprint(v) === valueFingerprint(base));
  t.notOk(twin.some((v) => m.has(v, 1)), 'none of them is taken for it');
  t.ok(m.has(base.slice(0), 1) && m.has(('x' + base).slice(1), 1), 'the same value as another string is');
  for (const v of twin.slice(0, 20)) m.add(v, 1);
  t.equal(twin.slice(0, 7).filter((v) => m.has(v, 1)).length, 7, 'up to 8 values per fingerprint are kept');
  t.notOk(m.has(twin[10], 1), 'later ones are not remembered');
  t.ok(m.has(base, 1), 'and the first is still found');
  t.notOk(m.has(base, 2), 'at its own place only');
});
