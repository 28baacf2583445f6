// Hostile and random inputs: the view never throws, never hangs, and stays bounded.
import t from 'tap';
import { buildRequestView } from '../../src/inspect/request-view.ts';
import type { RequestInput } from '../../src/types.ts';

const TYPES = [
  'application/x-www-form-urlencoded', 'application/json', 'multipart/form-data; boundary=b', 'application/xml',
  'text/plain', 'multipart/form-data', 'application/json; charset=utf-16', 'text/xml; charset=ibm037', ';;;', '',
];
const post = (ct: string, body: Buffer, extra: Array<[string, string]> = []): RequestInput => ({
  method: 'POST', url: '/x', httpVersion: '1.1', headers: ct === '' ? extra : [['content-type', ct], ...extra], body,
});

t.test('random bytes under every content type', async (t) => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pieces = ['--b', '\r\n', '{', '}', '[', ']', '"', '<', '>', '</', '<!DOCTYPE', '&', '=', '%', '%2', '%u', '\\', '\0', 'a', '\u00ff', ':', 'Content-Disposition: form-data; name="x"', '<![CDATA['];
  let n = 0;
  for (let i = 0; i < 400; i++) {
    let s = '';
    const len = Math.floor(rnd() * 60);
    for (let k = 0; k < len; k++) s += pieces[Math.floor(rnd() * pieces.length)];
    const ct = TYPES[i % TYPES.length];
    const url = '/' + s.replace(/[\s]/g, '').slice(0, 80) + '?' + s.slice(0, 40).replace(/[\s]/g, '');
    const input = { ...post(ct, Buffer.from(s, 'latin1')), url };
    buildRequestView(input);
    n++;
  }
  t.equal(n, 400, 'no throw');
});

t.test('pathological shapes finish quickly', async (t) => {
  const MB = 1024 * 1024;
  const cases: Array<[string, RequestInput]> = [
    ['1 MB of &', { method: 'GET', url: '/?' + '&'.repeat(MB), httpVersion: '1.1', headers: [], body: null }],
    ['1 MB of %', post('application/x-www-form-urlencoded', Buffer.alloc(MB, '%'))],
    ['1 MB of nested arrays', post('application/json', Buffer.from('['.repeat(MB / 2) + ']'.repeat(MB / 2)))],
    ['1 MB of open tags', post('application/xml', Buffer.from('<a>'.repeat(MB / 3)))],
    ['1 MB of unterminated attributes', post('application/xml', Buffer.from('<a b="' + 'x'.repeat(MB)))],
    ['1 MB of boundary text mid-line', post('multipart/form-data; boundary=b', Buffer.from('x--b'.repeat(MB / 4)))],
    ['100k tiny parts', post('multipart/form-data; boundary=b', Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'.repeat(20_000) + '--b--'))],
    ['1 MB of comment openers', post('text/plain', Buffer.from('/*'.repeat(MB / 2)))],
    ['1 MB of DOCTYPE brackets', post('application/xml', Buffer.from('<!DOCTYPE [' + '['.repeat(MB)))],
    ['1 MB of cookies', { method: 'GET', url: '/', httpVersion: '1.1', headers: [['cookie', 'a=1;'.repeat(MB / 4)]], body: null }],
  ];
  for (const [label, input] of cases) {
    const start = process.hrtime.bigint();
    const v = buildRequestView(input);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    t.ok(ms < 3000, `${label}: ${ms.toFixed(0)} ms, ${v.targets.length} targets, findings ${[...new Set(v.findings.map((f) => f.code))].join(',') || 'none'}`);
    t.ok(v.targets.length <= 4 * 5000 + 6 * 64 + 300_000, `${label}: bounded target count`);
  }
});
