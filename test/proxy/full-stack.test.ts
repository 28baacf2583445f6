// The front door with every part wired (engine in block mode, rate limits, events; no Redis): benign traffic passes
// untouched, an obvious attack gets the 403 page with an event id and never reaches the backend.
import t from 'tap';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;
t.before(async () => {
  backend = await startBackend();
  bw = await startTestBulwark({ upstream: backend.origin });
});
t.teardown(async () => {
  await bw.close();
  await backend.close();
});

const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', accept: 'text/html,application/xhtml+xml', 'accept-language': 'en' };

t.test('benign requests pass and arrive unchanged', async (t) => {
  const n = backend.count;
  const get = await request(`${bw.url}/search?q=red+shoes&page=2`, { headers: browser });
  await get.body.text();
  t.equal(get.statusCode, 200);
  const form = 'username=alice&comment=I+like+it%2C+thanks%21';
  const post = await request(`${bw.url}/comments/`, { method: 'POST', body: form, headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' } });
  await post.body.text();
  t.equal(post.statusCode, 200);
  t.equal(backend.received[backend.received.length - 1].body.toString(), form);
  t.equal(backend.count, n + 2);
});

t.test('an obvious attack is blocked with the 403 page and an event id', async (t) => {
  const n = backend.count;
  const res = await request(`${bw.url}/search?q=${encodeURIComponent("' UNION SELECT username, password FROM auth_user--")}`, { headers: { ...browser, accept: 'application/json' } });
  const body = (await res.body.json()) as { error: { code: string; eventId?: string; requestId: string } };
  t.equal(res.statusCode, 403);
  t.equal(body.error.code, 'WAF_ERR_BLOCKED');
  t.type(body.error.eventId, 'string');
  t.equal(body.error.requestId, res.headers['x-request-id']);
  t.equal(backend.count, n, 'not forwarded');
});
