// Charset and Content-Encoding confusion: bodies a backend would decode are decoded for inspection too.
import t from 'tap';
import { gzipSync, deflateSync, deflateRawSync, brotliCompressSync } from 'node:zlib';
import { buildRequestView, type RequestView } from '../../src/inspect/request-view.ts';

function view(body: Buffer, headers: Array<[string, string]>, limits = {}): RequestView {
  return buildRequestView({ method: 'POST', url: '/x', httpVersion: '1.1', headers, body }, limits);
}
const values = (v: RequestView, name: string) => v.targets.filter((x) => x.name === name).map((x) => x.value);
const codes = (v: RequestView) => [...new Set(v.findings.map((f) => f.code))].sort();

// IBM037 (EBCDIC) bytes for: q=' or 1=1--   (from Python: "q=' or 1=1--".encode('cp037'))
const EBCDIC_FORM = Buffer.from('98 7e 7d 40 96 99 40 f1 7e f1 60 60'.split(' ').map((h) => parseInt(h, 16)));

t.test('declared EBCDIC charset (Django decodes it): read as the backend reads it', async (t) => {
  const v = view(EBCDIC_FORM, [['content-type', 'application/x-www-form-urlencoded; charset=ibm037']]);
  t.same(values(v, 'args:q'), ["' or 1=1--"]);
  t.same(codes(v), ['content_type_unknown_charset']);
});

t.test('declared UTF-7 and UTF-32 via iconv-lite', async (t) => {
  const u7 = view(Buffer.from('q=+ADw-script+AD4-'), [['content-type', 'text/plain; charset=utf-7']]);
  t.same(values(u7, 'body_raw'), ['q=<script>']);
  const u32 = Buffer.alloc(4 * 8);
  [...'{"a":1}'].forEach((c, i) => u32.writeUInt32LE(c.charCodeAt(0), i * 4));
  const v = view(u32.subarray(0, 28), [['content-type', 'application/json; charset=utf-32le']]);
  t.same(values(v, 'json:a'), ['1']);
});

t.test('UTF-16 JSON without a charset is sniffed (Python json.loads does the same)', async (t) => {
  const body = Buffer.from('{"q":"1 union select password from users"}', 'utf16le');
  const v = view(body, [['content-type', 'application/json']]);
  t.same(values(v, 'json:q'), ['1 union select password from users']);
  t.same(codes(v), ['body_charset_sniffed']);
  const be = Buffer.from(body).swap16();
  t.same(values(view(be, [['content-type', 'application/json']]), 'json:q'), ['1 union select password from users']);
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"q":"x"}')]);
  const b = view(bom, [['content-type', 'application/json']]);
  t.same(values(b, 'json:q'), ['x'], 'a UTF-8 BOM does not hide JSON');
  t.same(codes(b), []);
});

t.test('gzip, deflate (zlib and raw) and br bodies are inflated for inspection', async (t) => {
  const plain = Buffer.from('q=%27+or+sleep(5)--');
  const ct: [string, string] = ['content-type', 'application/x-www-form-urlencoded'];
  for (const [enc, data] of [['gzip', gzipSync(plain)], ['deflate', deflateSync(plain)], ['deflate', deflateRawSync(plain)], ['br', brotliCompressSync(plain)]] as const) {
    const v = view(data, [ct, ['content-encoding', enc]]);
    t.same(values(v, 'args:q'), ["' or sleep(5)--"], enc);
    t.same(codes(v), ['body_content_encoding'], enc);
  }
  const twice = view(gzipSync(gzipSync(plain)), [ct, ['content-encoding', 'gzip, gzip']]);
  t.same(values(twice, 'args:q'), ["' or sleep(5)--"], 'stacked codings are undone in reverse order');
});

t.test('compression bombs and broken or unknown codings are findings, not crashes', async (t) => {
  const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x61));
  t.ok(bomb.length < 100_000);
  const v = view(bomb, [['content-type', 'text/plain'], ['content-encoding', 'gzip']], { maxInflated: 1024 * 1024 });
  t.same(codes(v), ['body_content_encoding', 'body_decompression_limit']);
  const bad = view(Buffer.from('not gzip at all'), [['content-type', 'text/plain'], ['content-encoding', 'gzip']]);
  t.same(codes(bad), ['body_content_encoding', 'body_decompression_failed']);
  const unknown = view(Buffer.from('x'), [['content-type', 'text/plain'], ['content-encoding', 'zstd']]);
  t.ok(codes(unknown).includes('body_decompression_failed'));
  const identity = view(Buffer.from('a=1'), [['content-type', 'application/x-www-form-urlencoded'], ['content-encoding', 'identity']]);
  t.same(codes(identity), []);
});

t.test('body bytes as text: the ASCII fast path gives what UTF-8 decoding gives; invalid UTF-8 falls back to Latin-1', async (t) => {
  const { utf8OrLatin1 } = await import('../../src/inspect/body/content-type.ts');
  let wrong = 0;
  // Random ASCII bodies (every byte 0-127, NUL and controls included), as long as a large form.
  for (let n = 0; n < 200; n++) {
    const b = Buffer.alloc(1 + Math.floor(Math.random() * 5000));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 128);
    if (utf8OrLatin1(b) !== b.toString('utf8')) wrong++;
  }
  t.equal(wrong, 0, '200 random ASCII bodies');
  t.equal(utf8OrLatin1(Buffer.from('café ünïcode ✓ 😀', 'utf8')), 'café ünïcode ✓ 😀', 'valid UTF-8 is decoded as UTF-8');
  t.equal(utf8OrLatin1(Buffer.from([0x61, 0xe9, 0x62])), 'a\u00e9b', 'a lone 0xE9 keeps every byte visible (Latin-1)');
});
