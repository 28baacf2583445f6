// Strict multipart reading through the request view: fields, files, and a finding for every irregularity.
import t from 'tap';
import { buildRequestView, type RequestView } from '../../src/inspect/request-view.ts';

const B = 'XyZ123boundary';
function view(body: string | Buffer, ct = `multipart/form-data; boundary=${B}`, extraHeaders: Array<[string, string]> = []): RequestView {
  return buildRequestView({
    method: 'POST', url: '/upload', httpVersion: '1.1',
    headers: [['Content-Type', ct], ...extraHeaders],
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
  });
}
const values = (v: RequestView, name: string) => v.targets.filter((x) => x.name === name).map((x) => x.value);
const codes = (v: RequestView) => [...new Set(v.findings.map((f) => f.code))].sort();
const part = (headers: string, content: string) => `--${B}\r\n${headers}\r\n\r\n${content}\r\n`;
const end = `--${B}--\r\n`;

t.test('well-formed form: fields, duplicate fields, a file, no findings', async (t) => {
  const body =
    part('Content-Disposition: form-data; name="title"', "it's fine") +
    part('Content-Disposition: form-data; name="tag"', 'a') +
    part('Content-Disposition: form-data; name="tag"', 'b') +
    part('Content-Disposition: form-data; name="doc"; filename="report.txt"\r\nContent-Type: text/plain', 'line1\r\nline2') +
    end;
  const v = view(body);
  t.same(values(v, 'args:title'), ["it's fine"]);
  t.same(values(v, 'args_post:tag'), ['a', 'b']);
  t.same(values(v, 'files:doc'), ['line1\r\nline2'], 'file content without the delimiter CRLF');
  t.same(values(v, 'file_names:doc'), ['report.txt']);
  t.same(values(v, 'args:doc'), [], 'file parts are not args');
  t.same(codes(v), ['args_duplicate'], 'only the repeated tag field');
  t.same(values(v, 'body_raw'), [body]);
});

t.test('boundary: missing, duplicate, not found, too long', async (t) => {
  t.same(codes(view(part('Content-Disposition: form-data; name="a"', '1') + end, 'multipart/form-data')), ['multipart_boundary_missing']);
  const dup = view(part('Content-Disposition: form-data; name="a"', '1') + end, `multipart/form-data; boundary=${B}; boundary=other`);
  t.ok(codes(dup).includes('multipart_boundary_duplicate'));
  t.same(values(dup, 'args:a'), ['1'], 'the first boundary is used, like busboy and Django');
  t.same(codes(view('just some text')), ['multipart_unterminated']);
  const long = 'b'.repeat(80);
  t.ok(codes(view(`--${long}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${long}--\r\n`, `multipart/form-data; boundary=${long}`)).includes('multipart_boundary_invalid'));
});

t.test('unterminated last part is still inspected', async (t) => {
  const v = view(`--${B}\r\nContent-Disposition: form-data; name="q"\r\n\r\n' union select 1`);
  t.same(codes(v), ['multipart_unterminated']);
  t.same(values(v, 'args:q'), ["' union select 1"]);
});

t.test('bad part headers', async (t) => {
  t.same(codes(view(part('Content-Type: text/plain', 'x') + end)), ['multipart_part_headers_bad'], 'no Content-Disposition');
  t.same(codes(view(part('Content-Disposition: form-data;\r\n name="a"', 'x') + end)), ['multipart_part_headers_bad'], 'folded header');
  t.same(codes(view(part('Content-Disposition: form-data; name="a"; name="b"', 'x') + end)), ['multipart_part_headers_bad'], 'duplicate name param');
  t.same(codes(view(part('Content-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"', 'x') + end)), ['multipart_part_headers_bad'], 'two Content-Disposition headers');
  t.same(codes(view(part('Content-Disposition: attachment; name="a"', 'x') + end)), ['multipart_part_headers_bad'], 'not form-data');
  t.same(codes(view(part('Content-Disposition: form-data; name="a', 'x') + end)), ['multipart_part_headers_bad'], 'unclosed quote');
  t.same(codes(view(part('Bad Header Line', 'x') + end)), ['multipart_part_headers_bad']);
  const noBlank = view(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n--${B}--\r\n`);
  t.ok(codes(noBlank).includes('multipart_part_headers_bad'), 'no blank line after headers');
});

t.test('bare LF line ends are read but flagged', async (t) => {
  const v = view(`--${B}\nContent-Disposition: form-data; name="a"\n\n<script>\n--${B}--\n`);
  t.same(codes(v), ['multipart_bare_lf']);
  t.same(values(v, 'args:a'), ['<script>']);
});

t.test('data outside parts, ambiguous boundary text', async (t) => {
  const pre = view('preamble junk\r\n' + part('Content-Disposition: form-data; name="a"', '1') + end + 'epilogue junk');
  t.same(codes(pre), ['multipart_data_outside_parts']);
  const amb = view(part('Content-Disposition: form-data; name="a"', `x\r\n--${B}X not a delimiter`) + end);
  t.same(codes(amb), ['multipart_boundary_ambiguous']);
  t.same(values(amb, 'args:a'), [`x\r\n--${B}X not a delimiter`]);
});

t.test('suspicious filenames and filename*', async (t) => {
  for (const name of ['../../etc/passwd', '..\\\\win.ini', 'shell.php\\x00.jpg', '.htaccess', 'x.php%00.png', 'a\\";name=\\"b']) {
    const v = view(part(`Content-Disposition: form-data; name="f"; filename="${name}"`, 'x') + end);
    t.ok(codes(v).includes('multipart_filename_suspicious'), name);
  }
  const inj = view(part('Content-Disposition: form-data; name="f"; filename="a";name="b"', 'x') + end);
  t.same(codes(inj), ['multipart_part_headers_bad'], 'a quote closing the filename early makes a duplicate name');
  const ok = view(part('Content-Disposition: form-data; name="f"; filename="holiday photo (1).jpg"', 'x') + end);
  t.same(codes(ok), [], 'an ordinary filename is not suspicious');
  t.same(codes(view(part('Content-Disposition: form-data; name="f"; filename="zzz&amp;zzz"', 'x') + end)), [], 'an HTML entity is not a ; trick');
  t.same(codes(view(part('Content-Disposition: form-data; name="f"; filename="shell.asp;.jpg"', 'x') + end)), ['multipart_filename_suspicious'], 'IIS ; trick');
  const star = view(part(`Content-Disposition: form-data; name="f"; filename="safe.txt"; filename*=UTF-8''evil.php`, 'x') + end);
  t.same(codes(star), ['multipart_filename_suspicious']);
  t.same(values(star, 'file_names:f'), ['evil.php'], 'filename* wins, as in Django');
});

t.test('Content-Transfer-Encoding base64 is decoded for inspection', async (t) => {
  const v = view(part('Content-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: base64', Buffer.from("' OR 1=1 --").toString('base64')) + end);
  t.same(codes(v), ['multipart_transfer_encoding']);
  t.same(values(v, 'args:q'), ["' OR 1=1 --"]);
});

t.test('nested multipart is read (bounded)', async (t) => {
  const inner = 'InnerB';
  const nested = `--${inner}\r\nContent-Disposition: file; filename="a.txt"\r\n\r\n<?php system($_GET[1]); ?>\r\n--${inner}--`;
  const v = view(part(`Content-Disposition: form-data; name="files"\r\nContent-Type: multipart/mixed; boundary=${inner}`, nested) + end);
  t.same(codes(v), ['multipart_nested']);
  t.same(values(v, 'files:'), ['<?php system($_GET[1]); ?>']);
  t.same(values(v, 'file_names:'), ['a.txt']);
});

t.test('too many parts', async (t) => {
  let body = '';
  for (let i = 0; i < 300; i++) body += part(`Content-Disposition: form-data; name="p${i}"`, String(i));
  const v = buildRequestView({ method: 'POST', url: '/', httpVersion: '1.1', headers: [['content-type', `multipart/form-data; boundary=${B}`]], body: Buffer.from(body + end) }, { maxParts: 100 });
  t.ok(codes(v).includes('multipart_too_many_parts'));
  t.equal(v.targets.filter((x) => x.collection === 'args').length, 100);
});

t.test('file content is capped and binary files do not break the view', async (t) => {
  const bin = Buffer.concat([Buffer.from(part('Content-Disposition: form-data; name="img"; filename="x.png"\r\nContent-Type: image/png', '').slice(0, -2), 'latin1'), Buffer.alloc(200_000, 0xff), Buffer.from('\r\n' + end)]);
  const v = view(bin);
  t.same(codes(v), []);
  t.equal(values(v, 'files:img')[0].length, 64 * 1024);
});

t.test('random garbage never throws and never hangs', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = [`--${B}`, '\r\n', '\n', 'Content-Disposition: form-data; name="a"', '; filename="', '"', 'x', '--', ':', ' ', '\r\n\r\n', 'Content-Type: multipart/mixed; boundary=' + B];
  for (let i = 0; i < 300; i++) {
    let s = '';
    const len = Math.floor(rnd() * 40);
    for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    t.doesNotThrow(() => view(s));
  }
  t.end();
});
