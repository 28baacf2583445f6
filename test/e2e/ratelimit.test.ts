/** Rate limits and bans through the real proxy: two instances on one real Redis, spoofed X-Forwarded-For, login failures, bans, Redis killed mid-load. */
import t from 'tap';
import { startRedis } from '../helpers/redis.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

const TOKEN = 'test-admin-token-0123456789';
const adminCall = async (b: TestBulwark, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${b.adminUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

t.test('rate limits through the proxy on a shared Redis', async (t) => {
  const redis = await startRedis();
  const backend = await startBackend((req, res) => {
    if (req.url === '/login' && req.method === 'POST') {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('bad credentials');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const config = (extra: Record<string, unknown> = {}) => ({
    upstream: backend.origin,
    mode: 'off',
    redis: { url: redis.url },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'tester', token: TOKEN, role: 'admin' }] },
    rateLimit: {
      global: null,
      attackBan: null,
      policies: [{ name: 'api', pathPrefix: '/api', key: 'ip', points: 3, durationSec: 60, blockSec: 5 }],
      login: [{ name: 'login', pathPrefix: '/login', field: 'username', failureStatus: [401], perUserIp: { points: 3, durationSec: 300, blockSec: 300 } }],
      ...extra,
    },
  });
  const a = await startTestBulwark(config());
  const b = await startTestBulwark(config());
  t.teardown(async () => { await a.close(); await b.close(); await backend.close(); await redis.stop(); });

  t.test('burst then 429 with Retry-After and RateLimit-*, counted across both instances', async (t) => {
    const before = backend.count;
    const statuses: number[] = [];
    let last: Response | null = null;
    for (const inst of [a, b, a, b]) {
      last = await fetch(`${inst.url}/api/items`);
      statuses.push(last.status);
      await last.text();
    }
    t.same(statuses, [200, 200, 200, 429]);
    t.equal(last!.headers.get('retry-after'), '5');
    t.equal(last!.headers.get('ratelimit-limit'), '3');
    t.equal(last!.headers.get('ratelimit-remaining'), '0');
    t.equal(backend.count - before, 3, 'the limited request never reached the backend');
    const ok = await fetch(`${a.url}/other`);
    t.equal(ok.status, 200, 'paths outside the policy are not limited');
    await ok.text();
  });

  t.test('spoofed X-Forwarded-For from an untrusted peer changes nothing', async (t) => {
    // The test client is 127.0.0.1 for both instances and already used its 3 points on /api.
    const res = await fetch(`${a.url}/api/items`, { headers: { 'x-forwarded-for': '203.0.113.99' } });
    t.equal(res.status, 429);
    await res.text();
  });

  t.test('from a trusted proxy, X-Forwarded-For picks the client', async (t) => {
    const trusted = await startTestBulwark({ ...config(), trustedProxies: ['127.0.0.1/32'] });
    t.teardown(() => trusted.close());
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${trusted.url}/api/items`, { headers: { 'x-forwarded-for': '198.51.100.77' } });
      codes.push(r.status);
      await r.text();
    }
    t.same(codes, [200, 200, 200, 429], 'the forwarded client has its own counter');
    const other = await fetch(`${trusted.url}/api/items`, { headers: { 'x-forwarded-for': '198.51.100.78' } });
    t.equal(other.status, 200);
    await other.text();
  });

  t.test('login failures (backend 401) lock the username after N', async (t) => {
    const before = backend.count;
    const login = (inst: TestBulwark, user: string) =>
      fetch(`${inst.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=${user}&password=nope` });
    const codes: number[] = [];
    for (const inst of [a, b, a, b]) {
      const r = await login(inst, 'victim');
      codes.push(r.status);
      await r.text();
      await new Promise((res) => setTimeout(res, 30)); // the failure is counted in onResponse
    }
    t.same(codes, [401, 401, 401, 429]);
    t.equal(backend.count - before, 3, 'the locked attempt was not forwarded');
    const other = await login(a, 'someone-else');
    t.equal(other.status, 401, 'other usernames still reach the backend');
    await other.text();
  });

  t.test('a ban made through one instance applies at the other; allow-list beats ban; unban', async (t) => {
    const ban = await adminCall(a, 'POST', '/bans', { ip: '127.0.0.1', seconds: 60, reason: 'test' });
    t.equal(ban.status, 200);
    let res = await fetch(`${b.url}/`);
    for (let i = 0; i < 20 && res.status !== 403; i++) {
      await res.text();
      await new Promise((r) => setTimeout(r, 50));
      res = await fetch(`${b.url}/`);
    }
    t.equal(res.status, 403, 'banned at the other instance within 1 s');
    const page = await res.text();
    t.match(page, /event/i, 'the 403 page quotes an event id');
    const allowed = await adminCall(b, 'POST', '/allow', { cidr: '127.0.0.0/8' });
    t.equal(allowed.status, 200);
    await new Promise((r) => setTimeout(r, 200));
    res = await fetch(`${a.url}/`);
    t.equal(res.status, 200, 'allow-list beats ban');
    await res.text();
    await adminCall(a, 'DELETE', '/allow?cidr=127.0.0.0/8');
    const un = await adminCall(b, 'DELETE', '/bans/127.0.0.1');
    t.equal(un.status, 200);
    await new Promise((r) => setTimeout(r, 200));
    res = await fetch(`${a.url}/api/items`);
    t.equal(res.status, 200, 'unban lifts the ban and resets the counters');
    await res.text();
    const list = await adminCall(a, 'GET', '/bans');
    t.same(list.json.bans, []);
    const badIp = await adminCall(a, 'POST', '/bans', { ip: 'not-an-ip' });
    t.equal(badIp.status, 400);
  });

  t.test('rate-limit decisions are events with the policy', async (t) => {
    const res = await fetch(`${a.adminUrl}/api/events?action=rate-limit`, { headers: { authorization: `Bearer ${TOKEN}` } });
    t.equal(res.status, 200);
    const body = (await res.json()) as { events?: Array<{ policy?: string; action: string }> };
    const policies = new Set((body.events ?? []).map((e) => e.policy));
    t.ok(policies.has('api'), 'the api policy is named');
  });

  t.test('Redis killed mid-load: limiting continues in memory, no 5xx; restarted: shared again', async (t) => {
    await redis.kill();
    const codes: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${a.url}/api/x`, { headers: { 'x-forwarded-for': '1.1.1.1' } });
      codes.push(r.status);
      await r.text();
    }
    t.ok(Date.now() - t0 < 3000, 'no stall while Redis is down');
    t.notOk(codes.some((c) => c >= 500), `no 5xx (${codes.join(',')})`);
    t.ok(codes.includes(429), 'still limiting from memory');
    await redis.start();
    await new Promise((r) => setTimeout(r, 2500)); // reconnect backoff
    const shared: number[] = [];
    for (const inst of [a, b, a, b]) {
      const r = await fetch(`${inst.url}/api/y`);
      shared.push(r.status);
      await r.text();
    }
    t.same(shared, [200, 200, 200, 429], 'counters shared again after Redis returned');
  });
});
