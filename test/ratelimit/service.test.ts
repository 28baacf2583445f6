import t from 'tap';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.ts';
import { RateLimitService, DEFAULT_RATE_LIMIT, type RateLimitConfig } from '../../src/ratelimit/service.ts';
import type { PolicyRequest } from '../../src/ratelimit/policy-match.ts';

const req = (ip: string, extra: Partial<PolicyRequest> = {}): PolicyRequest => ({
  site: 'default', path: '/api/x', method: 'GET', clientIp: ip,
  header: () => undefined, cookie: () => undefined, ...extra,
});

const cfg = (over: Partial<RateLimitConfig> = {}): RateLimitConfig => ({
  ...DEFAULT_RATE_LIMIT,
  global: null,
  policies: [{ name: 'api', pathPrefix: '/api', key: 'ip', points: 3, durationSec: 30, blockSec: 5 }],
  ...over,
});

const redisClient = (url: string) => {
  const c = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 100 });
  c.on('error', () => undefined);
  return c;
};

t.test('redis-backed', async (t) => {
  const r = await startRedis();
  const clients: Redis[] = [];
  const client = () => { const c = redisClient(r.url); clients.push(c); return c; };
  t.teardown(async () => { for (const c of clients) c.disconnect(); await r.stop(); });
  const ready = async (c: Redis) => { if (c.status !== 'ready') await new Promise((res) => c.once('ready', res)); };

  t.test('burst then block with escalating Retry-After and RateLimit headers', async (t) => {
    const c = client(); await ready(c);
    const rl = new RateLimitService(cfg(), { redis: c });
    for (let i = 0; i < 3; i++) {
      const d = await rl.check(req('198.51.100.1'), 'request');
      t.equal(d.action, 'allow');
      if (d.action === 'allow') t.equal(d.headers?.['ratelimit-remaining'], String(2 - i));
    }
    const d = await rl.check(req('198.51.100.1'), 'request');
    t.equal(d.action, 'rate-limit');
    if (d.action === 'rate-limit') {
      t.equal(d.policy, 'api');
      t.equal(d.headers['retry-after'], '5');
      t.equal(d.headers['ratelimit-limit'], '3');
      t.equal(d.headers['ratelimit-remaining'], '0');
      t.equal(d.headers['ratelimit-policy'], '3;w=30');
    }
    const other = await rl.check(req('198.51.100.2'), 'request');
    t.equal(other.action, 'allow', 'another client is not affected');
  });

  t.test('two instances share one counter', async (t) => {
    const a = new RateLimitService(cfg(), { redis: client() });
    const b = new RateLimitService(cfg(), { redis: client() });
    await ready(clients[clients.length - 1]); await ready(clients[clients.length - 2]);
    t.equal((await a.check(req('198.51.100.10'), 'request')).action, 'allow');
    t.equal((await b.check(req('198.51.100.10'), 'request')).action, 'allow');
    t.equal((await a.check(req('198.51.100.10'), 'request')).action, 'allow');
    t.equal((await b.check(req('198.51.100.10'), 'request')).action, 'rate-limit');
  });

  t.test('IPv6 addresses in one /64 share a key', async (t) => {
    const c = client(); await ready(c);
    const rl = new RateLimitService(cfg(), { redis: c });
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::9']) t.equal((await rl.check(req(ip), 'request')).action, 'allow');
    t.equal((await rl.check(req('2001:db8:1:2:abcd::7'), 'request')).action, 'rate-limit');
    t.equal((await rl.check(req('2001:db8:1:3::1'), 'request')).action, 'allow', 'next /64 is another client');
  });

  t.test('keyed by header and by form field', async (t) => {
    const c = client(); await ready(c);
    const rl = new RateLimitService(cfg({ policies: [
      { name: 'apikey', key: { header: 'x-api-key' }, points: 1, durationSec: 30 },
      { name: 'user', key: { field: 'username' }, points: 1, durationSec: 30 },
    ] }), { redis: c });
    const withKey = (k: string) => req('198.51.100.20', { header: (n) => (n === 'x-api-key' ? k : undefined) });
    t.equal((await rl.check(withKey('k1'), 'request')).action, 'allow');
    t.equal((await rl.check(withKey('k1'), 'request')).action, 'rate-limit');
    t.equal((await rl.check(withKey('k2'), 'request')).action, 'allow');
    t.equal((await rl.check(req('198.51.100.21'), 'request')).action, 'allow', 'no header: policy does not apply');
    const withUser = (u: string) => req('198.51.100.22', { field: (n) => (n === 'username' ? u : undefined) });
    t.equal((await rl.check(withUser('alice'), 'body')).action, 'allow');
    t.equal((await rl.check(withUser('Alice '), 'body')).action, 'rate-limit', 'usernames are normalised');
  });

  t.test('login failures lock the username after N; success does not count and resets', async (t) => {
    const c = client(); await ready(c);
    const rl = new RateLimitService(cfg({ policies: [], login: [{ name: 'login', pathPrefix: '/login', field: 'username', failureStatus: [401], perUserIp: { points: 3, durationSec: 60, blockSec: 60 }, perIpDay: { points: 100 } }] }), { redis: c });
    const attempt = (u: string) => req('198.51.100.30', { method: 'POST', path: '/login', field: (n) => (n === 'username' ? u : undefined) });
    for (let i = 0; i < 5; i++) {
      t.equal((await rl.check(attempt('bob'), 'body')).action, 'allow', `successful login ${i} allowed`);
      await rl.loginResult(attempt('bob'), 302);
    }
    for (let i = 0; i < 3; i++) {
      t.equal((await rl.check(attempt('bob'), 'body')).action, 'allow');
      await rl.loginResult(attempt('bob'), 401);
    }
    const locked = await rl.check(attempt('bob'), 'body');
    t.equal(locked.action, 'rate-limit');
    if (locked.action === 'rate-limit') t.equal(locked.policy, 'login');
    t.equal((await rl.check(attempt('carol'), 'body')).action, 'allow', 'other usernames still allowed');
  });

  t.test('attack-driven ban propagates to the other instance; allow-list beats ban; unban resets', async (t) => {
    const a = new RateLimitService(cfg({ attackBan: { threshold: 3, windowSec: 60, banSec: 600 } }), { redis: client(), subscriber: client() });
    const b = new RateLimitService(cfg({ attackBan: { threshold: 3, windowSec: 60, banSec: 600 }, allow: ['192.0.2.0/24'] }), { redis: client(), subscriber: client() });
    for (const c of clients) await ready(c);
    await a.start(); await b.start();
    t.equal(await a.recordAttack('198.51.100.40'), null);
    t.equal(await b.recordAttack('198.51.100.40'), null);
    t.equal(await a.recordAttack('198.51.100.40'), null);
    const ban = await b.recordAttack('198.51.100.40');
    t.ok(ban, 'banned after the threshold, counted across instances');
    const deadline = Date.now() + 1000;
    while (a.checkBan('198.51.100.40').action !== 'ban' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.equal(a.checkBan('198.51.100.40').action, 'ban', 'the other instance sees the ban within 1 s');
    await a.bans.ban('192.0.2.9', 600, 'manual');
    await new Promise((r) => setTimeout(r, 100));
    t.equal(b.checkBan('192.0.2.9').action, 'allow', 'allow-list beats ban');
    await a.unban('198.51.100.40');
    const deadline2 = Date.now() + 1000;
    while (b.checkBan('198.51.100.40').action === 'ban' && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
    t.equal(b.checkBan('198.51.100.40').action, 'allow', 'unban propagates');
  });

  t.test('Redis killed mid-load: limiting continues in memory without errors; restarted: shared again', async (t) => {
    const warnings: string[] = [];
    const c1 = client(); const c2 = client();
    await ready(c1); await ready(c2);
    const a = new RateLimitService(cfg(), { redis: c1, warn: (m) => warnings.push(m) });
    const b = new RateLimitService(cfg(), { redis: c2, warn: (m) => warnings.push(m) });
    await r.kill();
    await new Promise((res) => setTimeout(res, 200));
    t.ok(a.degraded(), 'degraded while Redis is down');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await a.check(req('198.51.100.50'), 'request')).action);
    t.same(seen, ['allow', 'allow', 'allow', 'rate-limit'], 'the insurance limiter still limits');
    t.ok(warnings.some((w) => /in-memory/.test(w)), 'a warning says so');
    await r.start();
    await ready(c1); await ready(c2);
    t.notOk(a.degraded());
    t.equal((await a.check(req('198.51.100.51'), 'request')).action, 'allow');
    t.equal((await a.check(req('198.51.100.51'), 'request')).action, 'allow');
    t.equal((await b.check(req('198.51.100.51'), 'request')).action, 'allow');
    t.equal((await b.check(req('198.51.100.51'), 'request')).action, 'rate-limit', 'counters are shared again');
  });
});

t.test('memory-only (embedded default)', async (t) => {
  const rl = new RateLimitService(cfg(), {});
  for (let i = 0; i < 3; i++) t.equal((await rl.check(req('203.0.113.1'), 'request')).action, 'allow');
  t.equal((await rl.check(req('203.0.113.1'), 'request')).action, 'rate-limit');
  await rl.bans.ban('203.0.113.2', 60, 'manual');
  t.equal(rl.checkBan('203.0.113.2').action, 'ban');
  await rl.unban('203.0.113.2');
  t.equal(rl.checkBan('203.0.113.2').action, 'allow');
});

t.test('burst pool, then an escalating block (Redis script and memory insurance agree)', async (t) => {
  const r = await startRedis();
  const c = redisClient(r.url);
  const admin = redisClient(r.url);
  t.teardown(async () => { c.disconnect(); admin.disconnect(); await r.stop(); });
  await Promise.all([c, admin].map((x) => (x.status === 'ready' ? null : new Promise((res) => x.once('ready', res)))));
  const policy = { name: 'bursty', pathPrefix: '/api', key: 'ip' as const, points: 2, durationSec: 30, burst: 2, blockSec: 2 };
  const conf = cfg({ policies: [policy], escalation: { factor: 2, maxBlockSec: 60, windowSec: 600 } });
  for (const [label, deps] of [['redis', { redis: c }], ['memory', {}]] as const) {
    const rl = new RateLimitService(conf, deps);
    const seen: string[] = [];
    const remaining: string[] = [];
    let last = await rl.check(req('198.51.100.90'), 'request');
    for (let i = 0; i < 5; i++) {
      if (i > 0) last = await rl.check(req('198.51.100.90'), 'request');
      seen.push(last.action);
      if (last.action === 'allow') remaining.push(last.headers?.['ratelimit-remaining'] ?? '?');
    }
    t.same(seen, ['allow', 'allow', 'allow', 'allow', 'rate-limit'], `${label}: 2 points + 2 of burst, then refused`);
    t.same(remaining, ['1', '0', '1', '0'], `${label}: remaining counts the burst pool once the rate is used`);
    if (last.action === 'rate-limit') t.equal(last.headers['retry-after'], '2', `${label}: first block is blockSec`);
  }
  // Second strike at another instance once the block is gone (DEL stands in for waiting 2 s): the block doubles.
  await admin.del('{bulwark}:rl:p:bursty:ip:198.51.100.90');
  const other = new RateLimitService(conf, { redis: c });
  const again = [];
  for (let i = 0; i < 3; i++) again.push(await other.check(req('198.51.100.90'), 'request'));
  t.same(again.map((d) => d.action), ['allow', 'allow', 'rate-limit'], 'burst pool still used up');
  const d = again[2];
  if (d.action === 'rate-limit') t.equal(d.headers['retry-after'], '4', 'second strike: 2 × 2 s');
  const ttl = await admin.pttl('{bulwark}:rl:p:bursty:ip:198.51.100.90');
  t.ok(ttl > 3000 && ttl <= 4000, `the 4 s block is in Redis (${ttl} ms)`);
});
