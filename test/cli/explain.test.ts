// `bulwark explain`: raw HTTP parsing, flags, the printed explanation (signature, target, decoded value, matched part,
// score, verdict) with the real library, and one spawn of the real CLI reading raw HTTP from stdin.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explain, parseRawRequest, requestFromFlags, type ExplainOptions } from '../../src/cli/explain.ts';

const SIGS = fileURLToPath(new URL('../../signatures', import.meta.url));
const base: ExplainOptions = { pl: 1, threshold: 5, signatures: SIGS };

t.test('parseRawRequest: CRLF and LF, Content-Length cut, bad request line refused', async (t) => {
  const r = parseRawRequest(Buffer.from('POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcdef'));
  t.same([r.method, r.url, r.httpVersion, r.headers, r.body?.toString()], ['POST', '/a?b=1', '1.1', [['Host', 'x'], ['Content-Length', '3']], 'abc']);
  const lf = parseRawRequest(Buffer.from('GET / HTTP/1.0\nHost: y\n\n'));
  t.same([lf.httpVersion, lf.headers, lf.body], ['1.0', [['Host', 'y']], null]);
  t.throws(() => parseRawRequest(Buffer.from('hello world\r\n\r\n')), /not an HTTP request line/);
  t.throws(() => parseRawRequest(Buffer.from('GET / HTTP/1.1\r\nno colon\r\n\r\n')), /malformed header line/);
});

t.test('explain prints signature, target, decoded value, matched part, score and verdict', async (t) => {
  const input = requestFromFlags({ ...base, url: '/search?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E' });
  t.ok(input);
  const out = explain(input!, base);
  t.match(out, /941\d{3} .*\[xss, PL1, critical \+5\]/);
  t.match(out, /target: {2}args:q/);
  t.match(out, /value: {3}"<script>alert\(1\)<\/script>"/, 'value shown decoded (two layers)');
  t.match(out, /matched: "<script/);
  t.match(out, /score: +\d+ \/ threshold 5 → BLOCK \(403\)/);
});

t.test('benign request: no matches, ALLOW; --json gives the verdict', async (t) => {
  const input = requestFromFlags({ ...base, url: "/search?q=O'Brien+and+sons", header: ['Referer: https://example.com/'] })!;
  t.match(explain(input, base), /matches: {2}none\nscore: {4}0 \/ threshold 5 → ALLOW/);
  const j = JSON.parse(explain(input, { ...base, json: true })) as { verdict: { action: string; score: number } };
  t.same([j.verdict.action, j.verdict.score], ['allow', 0]);
});

t.test('the CLI reads raw HTTP on stdin', async (t) => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const p = spawn(process.execPath, ['--import', 'tsx', main, 'explain', '--signatures', SIGS], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stdin.end('POST /login HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\nuser=admin%27--&pass=secret');
  const code = await new Promise<number | null>((r) => p.on('close', r));
  t.equal(code, 0);
  t.match(out, /942100 SQL injection/);
  t.match(out, /target: {2}args:user/);
  t.match(out, /→ BLOCK/);
});
