// Response leak inspection through the whole proxy, against a real backend on loopback: block (502 + event), mask, log,
// benign pages byte-for-byte (plain, chunked, gzip), bodies over maxBytes untouched and flagged, non-text types skipped,
// gzip/br leaks found, backend addresses in Location rewritten and in bodies caught, and a leaking page never cached.
import t from 'tap';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import type { WafEvent } from '../../src/types.ts';

const DJANGO = `<!DOCTYPE html><html lang="en"><head><title>ProgrammingError at /search/</title></head><body>
<div id="summary"><h1>ProgrammingError at /search/</h1><pre class="exception_value">near "UNION": syntax error</pre>
<table class="meta"><tr><th>Exception Type:</th><td>ProgrammingError</td></tr></table></div>
<div id="traceback"><textarea>Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/django/db/backends/utils.py", line 89, in _execute
    return self.cursor.execute(sql, params)
</textarea></div>
<div id="explanation"><p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p></div></body></html>`;
const MYSQL = "<html><body><h2>Search</h2>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '''' at line 1</body></html>";
const LISTING = '<html><head><title>Index of /</title></head><body><h1>Index of /</h1><pre><a href="backup.sql">backup.sql</a></pre></body></html>';
const BENIGN = Buffer.from('<!doctype html><html><head><meta charset="utf-8"><title>Café – Menu</title></head><body><h1>Our SQL &amp; Python courses</h1><p>Errors? See /faq. ünïcödé ✓</p></body></html>\n', 'utf8');
const BENIGN_LATIN1 = Buffer.from([0x3c, 0x70, 0x3e, 0x43, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe, 0x3c, 0x2f, 0x70, 0x3e]); // "<p>Caf\xe9 \xff\xfe</p>" (not UTF-8)
const JSON_OK = Buffer.from(JSON.stringify({ items: [{ id: 1, title: 'Error handling 101', path: '/docs/errors' }] }));

t.test('response inspection', async (t) => {
  let backendOrigin = '';
  const backend = await startBackend((req, res) => {
    const html = { 'content-type': 'text/html; charset=utf-8' };
    switch (req.url) {
      case '/django': return void res.writeHead(500, html).end(DJANGO);
      case '/mysql': return void res.writeHead(200, { ...html, 'set-cookie': 'sessionid=abc', 'x-backend': 'db1' }).end(MYSQL);
      case '/listing': return void res.writeHead(200, html).end(LISTING);
      case '/benign': return void res.writeHead(200, { ...html, 'content-length': BENIGN.length }).end(BENIGN);
      case '/benign-chunked': res.writeHead(200, html); res.write(BENIGN.subarray(0, 40)); return void setTimeout(() => res.end(BENIGN.subarray(40)), 20);
      case '/latin1': return void res.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' }).end(BENIGN_LATIN1);
      case '/json': return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON_OK);
      case '/gz-benign': return void res.writeHead(200, { ...html, 'content-encoding': 'gzip' }).end(gzipSync(BENIGN));
      case '/gz-leak': return void res.writeHead(500, { ...html, 'content-encoding': 'gzip' }).end(gzipSync(DJANGO));
      case '/br-leak': return void res.writeHead(200, { ...html, 'content-encoding': 'br' }).end(brotliCompressSync(MYSQL));
      case '/big': return void res.writeHead(200, html).end('<p>' + 'x'.repeat(5000) + '</p>' + MYSQL);
      case '/big-declared': { const b = Buffer.from('<p>' + 'y'.repeat(5000) + '</p>' + LISTING); return void res.writeHead(200, { ...html, 'content-length': b.length }).end(b); }
      case '/image': return void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from(LISTING));
      case '/redirect': return void res.writeHead(302, { location: `${backendOrigin}/next?a=1`, 'content-type': 'text/html' }).end('');
      case '/addr': return void res.writeHead(200, html).end(`<a href="${backendOrigin}/admin/">admin</a>`);
      case '/cacheable-leak': return void res.writeHead(200, { ...html, 'cache-control': 'public, max-age=60' }).end(MYSQL);
      case '/shell': return void res.writeHead(200, html).end('<html><head><title>r57 Shell Version 1.50</title></head><body><form method=post><input name=cmd></form></body></html>');
      case '/node': return void res.writeHead(500, { 'content-type': 'text/plain' }).end('TypeError: Cannot read properties of undefined\n    at Object.<anonymous> (/srv/app/server.js:12:7)\n    at Module._compile (node:internal/modules/cjs/loader:1256:14)');
      default: return void res.writeHead(404, html).end('<p>not here</p>');
    }
  });
  backendOrigin = backend.origin;
  const ri = (action: string) => ({ enabled: true, action, maxBytes: 4096 });
  const bw = await startTestBulwark({
    ...PROXY_ONLY,
    sites: [
      { name: 'blocking', hosts: ['block.test'], upstream: backend.origin, responseInspection: ri('block'), cache: { maxBytes: 1_000_000 } },
      { name: 'masking', hosts: ['mask.test'], upstream: backend.origin, responseInspection: ri('mask') },
      { name: 'logging', hosts: ['log.test'], upstream: backend.origin, responseInspection: ri('log') },
      { name: 'plain', hosts: ['plain.test'], upstream: backend.origin },
    ],
  });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const get = async (host: string, path: string, headers: Record<string, string> = {}) => {
    const r = await request(`${bw.url}${path}`, { headers: { host, ...headers } });
    return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
  };
  const event = async (id: string): Promise<WafEvent> => {
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${bw.adminUrl}/api/events/${id}`);
      if (r.status === 200) return (await r.json()) as WafEvent;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`event ${id} never appeared`);
  };

  t.test('block: 502 with our page and an event naming what matched', async (t) => {
    for (const [path, id] of [['/django', 990200], ['/mysql', 990100], ['/listing', 990301], ['/gz-leak', 990201], ['/br-leak', 990100], ['/node', 990203], ['/shell', 990500]] as const) {
      const r = await get('block.test', path, { accept: 'application/json' });
      t.equal(r.status, 502, `${path} → 502`);
      const text = r.body.toString();
      t.notOk(/SQL syntax|Traceback|Index of|DEBUG = True|server\.js|r57/.test(text), `${path}: nothing of the backend's body`);
      t.equal(r.headers['set-cookie'], undefined, `${path}: no backend header survives`);
      t.equal(r.headers['content-encoding'], undefined);
      const body = JSON.parse(text) as { error: { code: string; eventId: string } };
      t.equal(body.error.code, 'WAF_ERR_RESPONSE_BLOCKED');
      const e = await event(body.error.eventId);
      t.equal(e.action, 'block');
      t.equal(e.site, 'blocking');
      t.ok(e.matches.some((m) => m.id === id && m.target === 'response_body' && m.matched.length > 0), `${path}: matched ${id}: ${JSON.stringify(e.matches.map((m) => m.id))}`);
    }
    const html = await get('block.test', '/mysql');
    t.equal(html.status, 502);
    t.match(html.headers['content-type'], /text\/html/);
    t.ok(bw.logs.some((l) => l.msg === 'response blocked: leak in the body'), 'logged');
  });

  t.test('benign pages pass byte-for-byte', async (t) => {
    for (const host of ['block.test', 'mask.test', 'log.test']) {
      t.same((await get(host, '/benign')).body, BENIGN, `${host} /benign`);
      t.same((await get(host, '/benign-chunked')).body, BENIGN, `${host} chunked`);
      t.same((await get(host, '/latin1')).body, BENIGN_LATIN1, `${host} latin-1 bytes`);
      t.same((await get(host, '/json')).body, JSON_OK, `${host} json`);
      const gz = await get(host, '/gz-benign');
      t.equal(gz.headers['content-encoding'], 'gzip');
      t.same(gz.body, gzipSync(BENIGN), `${host} gzip body: the compressed bytes as sent`);
    }
    const b = await get('block.test', '/benign');
    t.equal(b.headers['content-length'], String(BENIGN.length));
  });

  t.test('bodies over maxBytes and non-text types pass untouched', async (t) => {
    const big = await get('block.test', '/big');
    t.equal(big.status, 200);
    t.ok(big.body.toString().endsWith(MYSQL), 'the whole body, untouched');
    const declared = await get('block.test', '/big-declared');
    t.equal(declared.status, 200);
    t.ok(declared.body.toString().endsWith(LISTING));
    t.ok(bw.logs.filter((l) => l.msg === 'response body not inspected: larger than maxBytes').length >= 2, 'flagged in the log');
    const img = await get('block.test', '/image');
    t.equal(img.status, 200);
    t.equal(img.body.toString(), LISTING);
  });

  t.test('mask: matched text replaced, the rest kept', async (t) => {
    const r = await get('mask.test', '/mysql');
    t.equal(r.status, 200);
    const text = r.body.toString();
    t.notOk(text.includes('You have an error in your SQL syntax'));
    t.ok(text.startsWith('<html><body><h2>Search</h2>[hidden]'), text);
    t.equal(r.headers['content-length'], String(r.body.length));
    const gz = await get('mask.test', '/gz-leak');
    t.equal(gz.status, 500);
    t.equal(gz.headers['content-encoding'], undefined, 'masked body sent decoded');
    t.notOk(gz.body.toString().includes('Traceback (most recent call last)'));
    t.ok(gz.body.toString().includes('ProgrammingError at /search/'), 'the rest of the page is kept');
    t.ok(bw.logs.some((l) => l.msg === 'response leak masked' && (l.leaks as string[]).includes('990100@response_body')));
  });

  t.test('log: the body passes, an event is recorded', async (t) => {
    const r = await get('log.test', '/listing');
    t.equal(r.status, 200);
    t.equal(r.body.toString(), LISTING);
    const line = bw.logs.find((l) => l.msg === 'response leak logged' && l.eventId);
    t.ok(line);
    const e = await event(line!.eventId as string);
    t.equal(e.action, 'detect');
    t.equal(e.backendStatus, 200);
    t.ok(e.matches.some((m) => m.id === 990301));
  });

  t.test('backend addresses: Location rewritten, bodies caught', async (t) => {
    const redirect = await get('block.test', '/redirect');
    t.equal(redirect.status, 302);
    t.equal(redirect.headers.location, '/next?a=1');
    const logged = await get('log.test', '/redirect');
    t.equal(logged.headers.location, `${backend.origin}/next?a=1`, 'log only: unchanged');
    const addr = await get('block.test', '/addr');
    t.equal(addr.status, 502);
    const masked = await get('mask.test', '/addr');
    t.equal(masked.body.toString(), '<a href="http://[hidden]/admin/">admin</a>');
    const plain = await get('plain.test', '/mysql');
    t.equal(plain.body.toString(), MYSQL, 'sites without responseInspection are untouched');
  });

  t.test('a leaking cacheable page is never stored', async (t) => {
    for (let i = 0; i < 2; i++) {
      const r = await get('block.test', '/cacheable-leak');
      t.equal(r.status, 502);
      t.not(r.headers['x-cache'], 'HIT');
    }
  });
});
