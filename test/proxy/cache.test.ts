// Response cache on a real backend: MISS then HIT, Vary, no-store/private/Set-Cookie/Authorization never cached, LRU byte bound, purge via the admin API, blocked requests never served from cache.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import { freshnessSeconds, ResponseCache } from '../../src/proxy/cache.ts';
import { cacheCommand } from '../../src/cli/cache.ts';
import { Command } from 'commander';

t.test('freshness rules (RFC 9111)', async (t) => {
  t.equal(freshnessSeconds(200, { 'cache-control': 'public, max-age=60' }), 60);
  t.equal(freshnessSeconds(200, { 'cache-control': 'max-age=60, s-maxage=5' }), 5, 's-maxage wins for a shared cache');
  t.equal(freshnessSeconds(200, { 'cache-control': 'no-store, max-age=60' }), null);
  t.equal(freshnessSeconds(200, { 'cache-control': 'private, max-age=60' }), null);
  t.equal(freshnessSeconds(200, { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }), null);
  t.equal(freshnessSeconds(200, { 'cache-control': 'max-age=60', vary: '*' }), null);
  t.equal(freshnessSeconds(500, { 'cache-control': 'max-age=60' }), null);
  t.equal(freshnessSeconds(200, {}), null, 'no explicit freshness → not stored');
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(freshnessSeconds(200, { date: new Date(now).toUTCString(), expires: new Date(now + 30_000).toUTCString() }, now), 30);
  t.equal(freshnessSeconds(200, { 'cache-control': 'max-age=60' }, now, true), null, 'authorized needs public');
});

t.test('LRU bounded by bytes', async (t) => {
  const c = new ResponseCache({ maxBytes: 3000, maxEntryBytes: 1500, allowAuthorized: false });
  t.notOk(c.store('h /big', {}, 200, {}, Buffer.alloc(2000), 60), 'entry above maxEntryBytes refused');
  for (const k of ['a', 'b', 'c']) t.ok(c.store(`h /${k}`, {}, 200, {}, Buffer.alloc(1000), 60));
  t.ok(c.size <= 3000, `size ${c.size} within bound`);
  t.equal(c.lookup('h /a', {}), null, 'oldest evicted');
  t.ok(c.lookup('h /c', {}));
});

t.test('through the proxy: MISS/HIT, Vary, bypasses, purge, attack never served from cache', async (t) => {
  let n = 0;
  const backend = await startBackend((req, res) => {
    n++;
    const u = req.url ?? '';
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (u.startsWith('/cc')) headers['cache-control'] = 'public, max-age=60';
    if (u.startsWith('/cc/vary')) headers.vary = 'Accept-Language';
    if (u.startsWith('/nostore')) headers['cache-control'] = 'no-store';
    if (u.startsWith('/private')) headers['cache-control'] = 'private, max-age=60';
    if (u.startsWith('/cookie')) Object.assign(headers, { 'cache-control': 'max-age=60', 'set-cookie': 's=1' });
    res.writeHead(200, headers);
    res.end(`n=${n} lang=${req.headers['accept-language'] ?? ''}`);
  });
  const bw = await startTestBulwark({ mode: 'block', rateLimit: { enabled: false }, sites: [{ name: 'app', hosts: ['*'], upstream: backend.origin, cache: { maxBytes: 1_000_000, maxEntryBytes: 100_000 } }] });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await request(`${bw.url}${path}`, { headers });
    return { status: r.statusCode, x: r.headers['x-cache'], body: await r.body.text() };
  };

  const m = await get('/cc/page');
  const h = await get('/cc/page');
  t.equal(m.x, 'MISS');
  t.equal(h.x, 'HIT');
  t.equal(h.body, m.body, 'same body');
  t.equal(backend.count, 1, 'backend asked once');

  const en = await get('/cc/vary', { 'accept-language': 'en' });
  const de = await get('/cc/vary', { 'accept-language': 'de' });
  const en2 = await get('/cc/vary', { 'accept-language': 'en' });
  t.equal(de.x, 'MISS', 'another Vary value is another entry');
  t.equal(en2.x, 'HIT');
  t.match(en2.body, /lang=en/);
  t.not(en.body, de.body);

  for (const p of ['/nostore', '/private', '/cookie']) {
    await get(p);
    t.not((await get(p)).x, 'HIT', `${p} never cached`);
  }
  await get('/cc/auth', { authorization: 'Bearer x' });
  t.not((await get('/cc/auth', { authorization: 'Bearer x' })).x, 'HIT', 'Authorization bypasses the cache');
  await get('/cc/sess', { cookie: 'sessionid=abc' });
  t.not((await get('/cc/sess', { cookie: 'sessionid=abc' })).x, 'HIT', 'Cookie bypasses the cache');

  // A cached page requested with an attack in a header (not part of the key) is blocked, not served from cache.
  const before = backend.count;
  const atk = await get('/cc/page', { 'x-search': "1' UNION SELECT password FROM users--" , referer: '<script>alert(document.cookie)</script>' });
  t.equal(atk.status, 403, 'blocked');
  t.not(atk.x, 'HIT');
  t.equal(backend.count, before, 'nothing reached the backend');

  const purge = await request(`${bw.adminUrl}/api/cache?path=/cc/page`, { method: 'DELETE' });
  const pj = (await purge.body.json()) as { purged: number };
  t.equal(purge.statusCode, 200);
  t.equal(pj.purged, 1);
  t.equal((await get('/cc/page')).x, 'MISS', 'purged → MISS again');
  const bad = await request(`${bw.adminUrl}/api/cache`, { method: 'DELETE' });
  await bad.body.dump();
  t.equal(bad.statusCode, 400);

  // CLI: `bulwark cache purge /cc/page` against the same admin API.
  t.equal((await get('/cc/page')).x, 'HIT');
  const lines: string[] = [];
  const errs: string[] = [];
  const program = new Command().exitOverride();
  program.addCommand(cacheCommand({ out: (l) => lines.push(l), err: (l) => errs.push(l) }));
  await program.parseAsync(['node', 'bulwark', 'cache', 'purge', '/cc/page', '--admin', bw.adminUrl]);
  t.same(errs, []);
  t.match(lines.join('\n'), /purged 1 cached entry for \/cc\/page/);
  t.equal((await get('/cc/page')).x, 'MISS', 'purged by the CLI');
});

t.test('a small answer with Content-Length (one the proxy reads whole elsewhere) is stored and served', async (t) => {
  let n = 0;
  const backend = await startBackend((_req, res) => {
    const body = `n=${++n}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': 'public, max-age=60' });
    res.end(body);
  });
  const bw = await startTestBulwark({ mode: 'block', rateLimit: { enabled: false }, sites: [{ name: 'app', hosts: ['*'], upstream: backend.origin, cache: { maxBytes: 1_000_000, maxEntryBytes: 100_000 } }] });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const first = await request(`${bw.url}/sized`);
  const second = await request(`${bw.url}/sized`);
  t.equal(first.headers['x-cache'], 'MISS');
  t.equal(second.headers['x-cache'], 'HIT');
  t.equal(await second.body.text(), await first.body.text(), 'the stored body');
  t.equal(backend.count, 1, 'backend asked once');
});
