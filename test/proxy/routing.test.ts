// Host and path-prefix routing across several real backends; unknown hosts get a neutral 421 unless a default site is set.
import t from 'tap';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';
import { matchPath } from '../../src/proxy/routing.ts';

let a: Backend, b: Backend, api: Backend, fallback: Backend;
let bw: TestBulwark;

t.before(async () => {
  [a, b, api, fallback] = await Promise.all([startBackend(), startBackend(), startBackend(), startBackend()]);
  bw = await startTestBulwark({
    ...PROXY_ONLY,
    upstream: fallback.origin,
    sites: [
      { name: 'shop', hosts: ['shop.example', 'www.shop.example'], upstream: a.origin, routes: [{ prefix: '/api/', upstream: api.origin, methods: ['GET'] }] },
      { name: 'tenants', hosts: ['*.tenants.example'], upstream: b.origin },
    ],
  });
});
t.teardown(async () => {
  await bw.close();
  await Promise.all([a, b, api, fallback].map((x) => x.close()));
});

async function get(host: string, path = '/', method = 'GET', accept?: string) {
  const res = await request(`${bw.url}${path}`, { method: method as 'GET', headers: { host, ...(accept ? { accept } : {}) } });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

t.test('exact hosts (any case, with port) go to their site', async (t) => {
  const n = a.count;
  t.equal((await get('shop.example')).status, 200);
  t.equal((await get('WWW.Shop.Example:8080', '/x')).status, 200);
  t.equal(a.count, n + 2);
});

t.test('wildcard hosts match subdomains but not the bare domain', async (t) => {
  const n = b.count;
  t.equal((await get('acme.tenants.example')).status, 200);
  t.equal((await get('a.b.tenants.example')).status, 200);
  t.equal(b.count, n + 2);
  const bare = await get('tenants.example');
  t.equal(bare.status, 421);
  t.equal(b.count, n + 2);
});

t.test('path-prefix route goes to its own upstream with its own method list', async (t) => {
  const n = api.count;
  t.equal((await get('shop.example', '/api/items')).status, 200);
  t.equal(api.count, n + 1);
  t.equal(api.received[api.received.length - 1].url, '/api/items', 'path is not rewritten');
  t.equal((await get('shop.example', '/api/items', 'POST')).status, 405);
  t.equal(api.count, n + 1);
  t.equal((await get('shop.example', '/apiary')).status, 200, '/apiary is not under /api/');
});

t.test('encoded or dotted paths cannot dodge a route', async (t) => {
  for (const p of ['/%61pi/items', '//api/items', '/x/../api/items', '/./api/items']) {
    const r = await get('shop.example', p, 'POST');
    t.equal(r.status, 405, `${p} is under /api/`);
  }
  t.equal(matchPath('/%61pi/x?y=1'), '/api/x');
  t.equal(matchPath('/a/%2e%2e/api/'), '/api/');
});

t.test('unknown Host → 421 neutral page (HTML or JSON), nothing forwarded', async (t) => {
  const n = fallback.count + a.count + b.count + api.count;
  const html = await get('evil.example');
  t.equal(html.status, 421);
  t.match(html.headers['content-type'], /text\/html/);
  t.notMatch(html.body, /127\.0\.0\.1|shop\.example|:\d{4,5}/);
  const json = await get('evil.example', '/', 'GET', 'application/json');
  t.equal(json.status, 421);
  t.equal(JSON.parse(json.body).error.code, 'WAF_ERR_UNKNOWN_HOST');
  t.equal(fallback.count + a.count + b.count + api.count, n);
});

t.test('defaultSite serves unknown hosts when configured', async (t) => {
  const d = await startTestBulwark({ ...PROXY_ONLY, upstream: fallback.origin, defaultSite: 'default', sites: [{ name: 'shop', hosts: ['shop.example'], upstream: a.origin }] });
  t.teardown(() => d.close());
  const n = fallback.count;
  const res = await request(`${d.url}/`, { headers: { host: 'other.example' } });
  await res.body.text();
  t.equal(res.statusCode, 200);
  t.equal(fallback.count, n + 1);
});

t.test('without sites every Host goes to the single upstream', async (t) => {
  const single = await startTestBulwark({ ...PROXY_ONLY, upstream: fallback.origin });
  t.teardown(() => single.close());
  const n = fallback.count;
  const res = await request(`${single.url}/`, { headers: { host: 'whatever.example' } });
  await res.body.text();
  t.equal(res.statusCode, 200);
  t.equal(fallback.count, n + 1);
});
