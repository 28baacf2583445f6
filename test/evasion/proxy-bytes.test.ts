// Through a real Bulwark to a real backend: bodies the view decodes (multipart, charsets, gzip) are inspected
// from the bytes that were read, and the backend still gets exactly those bytes, Content-Type params intact.
import t from 'tap';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { FastifyRequest } from 'fastify';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';
import type { ServicePlugin } from '../../src/services.ts';
import type { RequestInput } from '../../src/types.ts';
import { buildRequestView, type RequestView } from '../../src/inspect/request-view.ts';

// An inspector that runs the request view in the preHandler slot (where the engine plugin runs) and keeps it.
const views: RequestView[] = [];
function inputOf(req: FastifyRequest): RequestInput {
  const raw = req.raw.rawHeaders;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  return { method: req.raw.method ?? 'GET', url: req.raw.url ?? '/', httpVersion: req.raw.httpVersion, headers, body: req.waf.inspectBody, bodyTruncated: req.waf.bodyTruncated };
}
const viewInspector: ServicePlugin = async (app) => {
  app.addHook('preHandler', async (req) => {
    views.push(buildRequestView(inputOf(req)));
  });
};

let backend: Backend;
let bw: TestBulwark;
t.before(async () => {
  backend = await startBackend();
  bw = await startTestBulwark({ upstream: backend.origin }, { inspector: viewInspector });
});
t.teardown(async () => {
  await bw.close();
  await backend.close();
});

const values = (v: RequestView, name: string) => v.targets.filter((x) => x.name === name).map((x) => x.value);
const codes = (v: RequestView) => [...new Set(v.findings.map((f) => f.code))].sort();

async function send(headers: Record<string, string>, body: Buffer) {
  const before = backend.count;
  const res = await request(`${bw.url}/submit?x=1`, { method: 'POST', body, headers });
  await res.body.text();
  t.equal(res.statusCode, 200);
  t.equal(backend.count, before + 1, 'forwarded once');
  return { got: backend.received[backend.received.length - 1], view: views[views.length - 1] };
}

t.test('multipart with charset and odd (but accepted) shapes: same bytes, same Content-Type', async (t) => {
  const B = '----WebKitFormBoundaryQ9z';
  const ct = `multipart/form-data; charset=UTF-8; boundary=${B}`;
  const body = Buffer.concat([
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhéllo <b>wörld</b>\r\n`, 'utf8'),
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1'),
    Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0x2d, 0x2d]),
    Buffer.from(`\r\n--${B}\nContent-Disposition: form-data; name="lf"\n\nbare\n--${B}--\r\n`, 'latin1'),
  ]);
  const { got, view } = await send({ 'content-type': ct }, body);
  t.ok(got.body.equals(body), 'backend got the exact bytes');
  t.equal(got.headers['content-type'], ct, 'boundary and charset intact');
  t.same(values(view, 'args:comment'), ['héllo <b>wörld</b>'], 'the view read the field from those bytes');
  t.same(values(view, 'file_names:f'), ['x.bin']);
  t.same(values(view, 'args:lf'), ['bare']);
  t.same(codes(view), ['multipart_bare_lf']);
});

t.test('EBCDIC form body (charset=ibm037): inspected decoded, forwarded as sent', async (t) => {
  // "q=' or 1=1--" in cp037
  const body = Buffer.from('987e7d409699 40f17ef16060'.replace(/ /g, ''), 'hex');
  const ct = 'application/x-www-form-urlencoded; charset=ibm037';
  const { got, view } = await send({ 'content-type': ct }, body);
  t.ok(got.body.equals(body));
  t.equal(got.headers['content-type'], ct);
  t.same(values(view, 'args:q'), ["' or 1=1--"]);
  t.same(values(view, 'args_get:x'), ['1']);
});

t.test('UTF-16 JSON without charset and a Latin-1 form: same bytes', async (t) => {
  const json = Buffer.from('{"q":"1 union select"}', 'utf16le');
  const a = await send({ 'content-type': 'application/json' }, json);
  t.ok(a.got.body.equals(json));
  t.same(values(a.view, 'json:q'), ['1 union select']);
  const latin = Buffer.from('name=Fran\xe7ois&city=K\xf6ln', 'latin1');
  const ct = 'application/x-www-form-urlencoded; charset=ISO-8859-1';
  const b = await send({ 'content-type': ct }, latin);
  t.ok(b.got.body.equals(latin));
  t.equal(b.got.headers['content-type'], ct);
  t.same(values(b.view, 'args:name'), ['François']);
});

t.test('gzip body: inspected inflated, forwarded compressed with its Content-Encoding', async (t) => {
  const body = gzipSync(Buffer.from('q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'));
  const { got, view } = await send({ 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }, body);
  t.ok(got.body.equals(body));
  t.equal(got.headers['content-encoding'], 'gzip');
  t.same(values(view, 'args:q'), ['<script>alert(1)</script>']);
  t.same(codes(view), ['body_content_encoding']);
});

// The same bodies through Bulwark's own inspection plugin and signature library (PL1).
const B2 = '----WebKitFormBoundaryR7x';
const multipartOf = (v: string) => Buffer.from(`--${B2}\r\nContent-Disposition: form-data; name="comment"\r\n\r\n${v}\r\n--${B2}--\r\n`, 'utf8');
// cp037 for "q=hello world" and "q=' or 1=1--"
const ebcdicBenign = Buffer.from('987e888593939640a696999384', 'hex');
const ebcdicAttack = Buffer.from('987e7d40969940f17ef16060', 'hex');
type Case = [label: string, headers: Record<string, string>, benign: Buffer, attack: Buffer, policyRefused: boolean];
const CASES: Case[] = [
  ['multipart with charset', { 'content-type': `multipart/form-data; charset=UTF-8; boundary=${B2}` }, multipartOf('Nice post, thanks! 😀'), multipartOf('<script>alert(document.cookie)</script>'), false],
  ['UTF-16 JSON', { 'content-type': 'application/json' }, Buffer.from('{"q":"blue shoes"}', 'utf16le'), Buffer.from('{"q":"1 UNION SELECT password FROM users"}', 'utf16le'), false],
  // The library refuses these shapes outright at PL1 (920250 unusual charset, 920180 compressed request body).
  ['EBCDIC form', { 'content-type': 'application/x-www-form-urlencoded; charset=ibm037' }, ebcdicBenign, ebcdicAttack, true],
  ['gzip form', { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }, gzipSync('q=blue+shoes'), gzipSync('q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'), true],
];

async function post(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  const res = await request(`${url}/submit`, { method: 'POST', headers, body });
  await res.body.text();
  return res.statusCode;
}

t.test('real inspection, block mode: benign bodies forwarded byte-identical, attacks in the same shapes never forwarded', async (t) => {
  const real = await startTestBulwark({ upstream: backend.origin, mode: 'block' });
  t.teardown(() => real.close());
  for (const [label, headers, benign, attack, policyRefused] of CASES) {
    const before = backend.count;
    if (policyRefused) {
      t.equal(await post(real.url, headers, benign), 403, `${label}: refused by policy even when benign`);
    } else {
      t.equal(await post(real.url, headers, benign), 200, `${label}: benign forwarded`);
      const got = backend.received[backend.received.length - 1];
      t.ok(got.body.equals(benign), `${label}: same bytes after inspection`);
      t.equal(got.headers['content-type'], headers['content-type'], `${label}: Content-Type intact`);
    }
    const after = backend.count;
    t.equal(after, before + (policyRefused ? 0 : 1));
    t.equal(await post(real.url, headers, attack), 403, `${label}: attack blocked`);
    t.equal(backend.count, after, `${label}: attack not forwarded`);
  }
});

t.test('real inspection, detect mode: every body (policy-refused shapes too) is inspected and forwarded byte-identical', async (t) => {
  const real = await startTestBulwark({ upstream: backend.origin, mode: 'detect' });
  t.teardown(() => real.close());
  for (const [label, headers, benign, attack] of CASES) {
    for (const body of [benign, attack]) {
      const before = backend.count;
      t.equal(await post(real.url, headers, body), 200, `${label}: forwarded in detect mode`);
      t.equal(backend.count, before + 1);
      const got = backend.received[backend.received.length - 1];
      t.ok(got.body.equals(body), `${label}: same bytes`);
      t.equal(got.headers['content-type'], headers['content-type']);
      if (headers['content-encoding']) t.equal(got.headers['content-encoding'], headers['content-encoding']);
    }
  }
  const detected = real.logs.filter((l) => l.action === 'detect').length;
  t.ok(detected >= CASES.length, `${detected} requests logged with action detect (inspection ran)`);
});
