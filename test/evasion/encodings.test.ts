// Evasion: the same attack, however it is encoded, wrapped or split, scores the same as its plain form.
import t from 'tap';
import { gzipSync } from 'node:zlib';
import type { RequestInput, SignatureSpec } from '../../src/types.ts';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature } from '../../src/inspect/signature.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';

// A small inline rule set: one regex signature per family, with the decode chains a signature writer
// would give it. base64_decode first: it leaves anything that is not base64 of text unchanged.
const DECODE = ['base64_decode', 'url_decode_uni', 'html_entity_decode', 'js_decode', 'unicode_normalize', 'remove_nulls'];
const spec = (id: number, family: string, targets: string[], transforms: string[], pattern: string): SignatureSpec => ({
  id, name: `${family} ${id}`, family, paranoia: 1, severity: 'critical', targets, transforms, operator: 'rx', pattern, tags: [],
  examples: { match: [], pass: [] },
});
const RULES: SignatureSpec[] = [
  spec(990001, 'sqli', ['args', 'args_names', 'cookies', 'files'], [...DECODE, 'remove_comments', 'compress_whitespace', 'lowercase'], String.raw`\bunion\s+(?:all\s+)?select\b`),
  spec(990002, 'xss', ['args', 'args_names', 'cookies', 'files'], [...DECODE, 'lowercase'], String.raw`<script[\s>/]`),
  spec(990003, 'lfi', ['path'], ['url_decode_uni', 'unicode_normalize', 'normalize_path'], String.raw`(?:^|/)etc/passwd\b`),
  // No js_decode for shell input: the shell reads c\a\t as cat, not as "ca<TAB>".
  spec(990004, 'rce', ['args'], [...DECODE.filter((n) => n !== 'js_decode'), 'cmdline'], String.raw`\bcat\s*/etc/(?:passwd|shadow)`),
];
const ruleset = compileRuleset(RULES, { version: 1 });
const ctx = { paranoia: 1 as const, threshold: 5, mode: 'block' as const };

function get(url: string, headers: Array<[string, string]> = []): RequestInput {
  return { method: 'GET', url, httpVersion: '1.1', headers: [['host', 'localhost'], ...headers], body: null };
}
function post(contentType: string, body: Buffer | string, extra: Array<[string, string]> = []): RequestInput {
  return {
    method: 'POST', url: '/submit', httpVersion: '1.1',
    headers: [['host', 'localhost'], ['content-type', contentType], ...extra],
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}
const enc = (s: string, layers: number) => {
  let v = s;
  for (let i = 0; i < layers; i++) v = encodeURIComponent(v).replace(/'/g, '%27');
  return v;
};
const pctAll = (s: string) => [...Buffer.from(s)].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
const uEnc = (s: string) => [...s].map((c) => '%u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join('');
const fullWidth = (s: string) => [...s].map((c) => (c > ' ' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');
const entities = (s: string) => [...s].map((c) => `&#${c.charCodeAt(0)};`).join('');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const mixed = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
const B = 'EvasionBoundary7';
const multipart = (name: string, value: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n--${B}--\r\n`;

function score(input: RequestInput, rs = ruleset): { score: number; ids: number[]; action: string } {
  const v = rs.inspect(input, ctx);
  return { score: v.score, ids: [...new Set(v.matches.map((m) => m.id))].sort(), action: v.action };
}

interface Family {
  name: string;
  attack: string;
  plain: RequestInput;
  variants: Array<[string, RequestInput]>;
}

const SQLI = "1 UNION SELECT password FROM users";
const XSS = '<script>alert(1)</script>';
const RCE = 'cat /etc/passwd';

const families: Family[] = [
  {
    name: 'sqli', attack: SQLI, plain: get('/?id=' + enc(SQLI, 1)),
    variants: [
      ['2 layers of %', get('/?id=' + enc(SQLI, 2))],
      ['3 layers of %', get('/?id=' + enc(SQLI, 3))],
      ['every byte %-encoded', get('/?id=' + pctAll(SQLI))],
      ['%u encoding', get('/?id=' + uEnc(SQLI))],
      ['full-width', get('/?id=' + encodeURIComponent(fullWidth(SQLI)))],
      ['mixed case', get('/?id=' + enc(mixed(SQLI), 1))],
      ['inline comments', get('/?id=' + enc('1 UNION/**/SELECT/**/password FROM users', 1))],
      ['MySQL versioned comment', get('/?id=' + enc('1 /*!50000UNION*/ /*!50000SELECT*/ password FROM users', 1))],
      ['odd whitespace', get('/?id=' + enc('1\u000bUNION\u00a0\u000cSELECT\tpassword FROM users', 1))],
      ['HTML entities', get('/?id=' + enc(entities(SQLI), 1))],
      ['null bytes', get('/?id=' + enc('1 UNI\u0000ON SEL\u0000ECT password FROM users', 1))],
      ['split across duplicate params', get('/?id=' + enc('1 UNION/*', 1) + '&id=' + enc('*/SELECT password FROM users', 1))],
      ['base64-wrapped', get('/?id=' + enc(b64(SQLI), 1))],
      ['in a cookie', get('/', [['cookie', 'id=' + enc(SQLI, 1)]])],
      ['in an argument name', get('/?' + enc(SQLI, 1) + '=1')],
      ['urlencoded body', post('application/x-www-form-urlencoded', 'id=' + enc(SQLI, 1))],
      ['JSON body', post('application/json', JSON.stringify({ user: { id: SQLI } }))],
      ['JSON \\u escapes', post('application/json', '{"id":"1 \\u0055NION \\u0053ELECT password FROM users"}')],
      ['JSON sent as text/plain', post('text/plain', JSON.stringify({ id: SQLI }))],
      ['UTF-16 JSON, no charset', post('application/json', Buffer.from(JSON.stringify({ id: SQLI }), 'utf16le'))],
      ['multipart field', post(`multipart/form-data; boundary=${B}`, multipart('id', SQLI))],
      ['multipart, bare LF', post(`multipart/form-data; boundary=${B}`, multipart('id', SQLI).replace(/\r\n/g, '\n'))],
      ['XML text', post('application/xml', `<q><id>${SQLI}</id></q>`)],
      ['XML char refs', post('text/xml', `<q id="${entities(SQLI)}"/>`)],
      ['gzip body', post('application/x-www-form-urlencoded', gzipSync('id=' + enc(SQLI, 1)), [['content-encoding', 'gzip']])],
      ['EBCDIC form (charset=ibm037)', post('application/x-www-form-urlencoded; charset=ibm037',
        // "id=1 UNION SELECT password FROM users" in cp037
        Buffer.from('89847ef140e4d5c9d6d540e2c5d3c5c3e3409781a2a2a696998440c6d9d6d440a4a28599a2', 'hex'))],
    ],
  },
  {
    name: 'xss', attack: XSS, plain: get('/?q=' + enc(XSS, 1)),
    variants: [
      ['2 layers of %', get('/?q=' + enc(XSS, 2))],
      ['3 layers of %', get('/?q=' + enc(XSS, 3))],
      ['%u encoding', get('/?q=' + uEnc(XSS))],
      ['full-width', get('/?q=' + encodeURIComponent(fullWidth(XSS)))],
      ['mixed case', get('/?q=' + enc(mixed(XSS), 1))],
      ['HTML entities', get('/?q=' + enc(entities(XSS), 1))],
      ['JS escapes', get('/?q=' + enc('\\x3cscript\\x3ealert(1)\\u003c/script\\u003e', 1))],
      ['base64-wrapped', get('/?q=' + enc(b64(XSS), 1))],
      ['JSON body', post('application/json', JSON.stringify([{ comment: XSS }]))],
      ['multipart field', post(`multipart/form-data; boundary=${B}`, multipart('q', XSS))],
      ['multipart file content', post(`multipart/form-data; boundary=${B}`,
        `--${B}\r\nContent-Disposition: form-data; name="f"; filename="a.html"\r\n\r\n${XSS}\r\n--${B}--\r\n`)],
      ['multipart file content, base64 transfer encoding', post(`multipart/form-data; boundary=${B}`,
        `--${B}\r\nContent-Disposition: form-data; name="f"; filename="a.html"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(XSS)}\r\n--${B}--\r\n`)],
      ['XML CDATA', post('application/xml', `<c><![CDATA[${XSS}]]></c>`)],
      ['XML escaped text', post('application/xml', `<c>&lt;script&gt;alert(1)&lt;/script&gt;</c>`)],
    ],
  },
  {
    name: 'lfi (path)', attack: '/etc/passwd', plain: get('/static/../../etc/passwd'),
    variants: [
      ['%2f slashes', get('/static/..%2f..%2fetc%2fpasswd')],
      ['double-encoded', get('/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd')],
      ['backslashes', get('/static\\..\\..\\etc\\passwd')],
      ['dot segments and //', get('/static/./..//.././etc//passwd')],
      ['Java ..;', get('/static/..;/..;/etc/passwd')],
      ['%u', get('/static/' + uEnc('../../etc/passwd'))],
    ],
  },
  {
    name: 'rce', attack: RCE, plain: get('/?cmd=' + enc(RCE, 1)),
    variants: [
      ['quotes', get('/?cmd=' + enc("c'a't /e\"t\"c/passwd", 1))],
      ['backslashes and carets', get('/?cmd=' + enc('c\\at /et^c/pas\\swd', 1))],
      ['carets only (cmd.exe)', get('/?cmd=' + enc('c^a^t /e^t^c/passwd', 1))],
      ['backslashes only', get('/?cmd=' + enc('c\\a\\t /etc/passwd', 1))],
      ['quoted path', get('/?cmd=' + enc('cat "/etc/passwd"', 1))],
      ['$IFS$9', get('/?cmd=' + enc('cat$IFS$9/etc/passwd', 1))],
      ['$IFS', get('/?cmd=' + enc('cat${IFS}/etc/passwd', 1))],
      ['$@', get('/?cmd=' + enc('c$@at /etc/passwd', 1))],
      ['2 layers', get('/?cmd=' + enc(RCE, 2))],
      ['base64-wrapped', get('/?cmd=' + enc(b64(RCE), 1))],
      ['base64-wrapped in JSON', post('application/json', JSON.stringify({ cmd: b64(RCE) }))],
      ['quotes in a multipart field', post(`multipart/form-data; boundary=${B}`, multipart('cmd', "c'a't /e\"t\"c/passwd"))],
    ],
  },
];

for (const fam of families) {
  t.test(`${fam.name}: every variant scores like the plain form`, async (t) => {
    const plain = score(fam.plain);
    t.ok(plain.score >= 5, `plain form blocks (score ${plain.score})`);
    for (const [label, input] of fam.variants) {
      const v = score(input);
      t.equal(v.score, plain.score, `${label}: score ${v.score}, ids ${v.ids.join(',') || 'none'}`);
    }
  });
}

const benign: Array<[string, RequestInput]> = [
    ['prose with union and select', get('/?q=' + enc('the trade union will select a leader', 1))],
    ['base64 token', get('/?token=' + b64('session:42:ok'))],
    ['a script word', get('/?q=' + enc('the script of the movie', 1))],
    ['encoded path', get('/files/report%202024.pdf')],
    ['cat command word', get('/?q=' + enc('my cat likes /home', 1))],
    ['quotes in prose', get('/?q=' + enc(`O'Brien's "cat" photos`, 1))],
    ['Windows path', get('/?file=' + enc('C:\\Users\\nc\\report.txt', 1))],
    ['text file upload', post(`multipart/form-data; boundary=${B}`,
      `--${B}\r\nContent-Disposition: form-data; name="f"; filename="notes.txt"\r\n\r\nif a < b then the script ends\r\n--${B}--\r\n`)],
    ['JSON with words', post('application/json', JSON.stringify({ text: 'Please select a union representative' }))],
];

t.test('benign look-alikes stay at 0', async (t) => {
  for (const [label, input] of benign) t.equal(score(input).score, 0, label);
});

// The same variants against the real signature library at PL1: each is blocked like its plain form.
// (Exact scores differ by design: an encoded form adds protocol signals, a name is not checked by every
// value signature, and the library changes; the exact-score property is the inline rule set's, above.)
t.test('full library at PL1: every variant is blocked like the plain form', async (t) => {
  const read = readSignatureFiles(new URL('../../signatures', import.meta.url).pathname);
  // Signatures the loader refuses are reported by test/signatures/library.test.ts; here they are left out.
  const usable = read.signatures.filter((spec) => {
    try {
      compileSignature(spec);
      return true;
    } catch {
      t.comment(`left out (refused by the compiler): ${spec.id}`);
      return false;
    }
  });
  t.ok(usable.length > 100, `${usable.length} library signatures`);
  const library = compileRuleset(usable, { version: 1 });
  for (const fam of families) {
    const plain = score(fam.plain, library);
    t.equal(plain.action, 'block', `${fam.name} plain: score ${plain.score} (${plain.ids.join(',')})`);
    for (const [label, input] of fam.variants) {
      const v = score(input, library);
      const key = `${fam.name.split(' ')[0]} ${label}`;
      t.equal(v.action, 'block', `${key}: ${v.action} score ${v.score} vs plain ${plain.score} (${v.ids.join(',') || 'none'})`);
    }
  }
  for (const [label, input] of benign) t.not(score(input, library).action, 'block', `benign: ${label}`);
});
