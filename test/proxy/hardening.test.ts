// Per-site security headers: defaults added, the backend's own value kept, overrides and removals, other sites untouched, also on our block page.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

t.test('security headers per site', async (t) => {
  const backend = await startBackend((req, res) => {
    const h: Record<string, string> = { 'content-type': 'text/html' };
    if (req.url === '/own') h['x-frame-options'] = 'DENY';
    res.writeHead(200, h).end('<p>hi</p>');
  });
  const bw = await startTestBulwark({
    mode: 'block',
    rateLimit: { enabled: false },
    sites: [
      { name: 'hard', hosts: ['hard.test'], upstream: backend.origin, securityHeaders: { 'referrer-policy': 'no-referrer', 'permissions-policy': false } },
      { name: 'soft', hosts: ['soft.test'], upstream: backend.origin },
    ],
  });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const r = await request(`${bw.url}/`, { headers: { host: 'hard.test' } });
  await r.body.dump();
  t.equal(r.headers['x-content-type-options'], 'nosniff');
  t.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
  t.equal(r.headers['referrer-policy'], 'no-referrer', 'override');
  t.equal(r.headers['permissions-policy'], undefined, 'removed default');
  const own = await request(`${bw.url}/own`, { headers: { host: 'hard.test' } });
  await own.body.dump();
  t.equal(own.headers['x-frame-options'], 'DENY', "backend's own value kept");
  const soft = await request(`${bw.url}/`, { headers: { host: 'soft.test' } });
  await soft.body.dump();
  t.equal(soft.headers['x-content-type-options'], undefined, 'off unless configured');
  const blocked = await request(`${bw.url}/?q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, { headers: { host: 'hard.test' } });
  await blocked.body.dump();
  t.equal(blocked.statusCode, 403);
  t.equal(blocked.headers['x-content-type-options'], 'nosniff', 'also on our block page');
});
