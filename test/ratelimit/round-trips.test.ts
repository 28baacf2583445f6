/**
 * "At most one Redis round trip per request", counted on a private redis-server: INFO commandstats around N checks
 * (service level, global ceiling + 1 or 5 policies), and MONITOR filtered to the rate limiter's own connection
 * through the real proxy. Also: a flood over a limit is answered from memory (no command), and an unban clears that
 * memory at the other instance too.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import { RateLimitService, DEFAULT_RATE_LIMIT, type RateLimitConfig } from '../../src/ratelimit/service.ts';
import type { PolicyRequest } from '../../src/ratelimit/policy-match.ts';
import type { RatePolicy } from '../../src/types.ts';

const req = (ip: string): PolicyRequest => ({
  site: 'default', path: '/api/x', method: 'GET', clientIp: ip, header: () => undefined, cookie: () => undefined,
});

const policies = (n: number, over: Partial<RatePolicy> = {}): RatePolicy[] =>
  Array.from({ length: n }, (_, i) => ({ name: `p${i + 1}`, pathPrefix: '/api', key: 'ip' as const, points: 1000, durationSec: 60, ...over }));

const cfg = (over: Partial<RateLimitConfig>): RateLimitConfig => ({ ...DEFAULT_RATE_LIMIT, ...over });

const client = (url: string) => {
  const c = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 100 });
  c.on('error', () => undefined);
  return c;
};
const ready = async (c: Redis) => { if (c.status !== 'ready') await new Promise((res) => c.once('ready', res)); };

/** Commands the server executed since the last CONFIG RESETSTAT, by name (INFO and CONFIG themselves left out). */
async function commandCounts(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info' || m[1].startsWith('config')) continue;
    out[m[1]] = Number(m[2]);
  }
  return out;
}
const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

t.test('service: one command per request for the global ceiling + 1 or + 5 policies', async (t) => {
  const r = await startRedis();
  const admin = client(r.url);
  const clients: Redis[] = [admin];
  t.teardown(async () => { for (const c of clients) c.disconnect(); await r.stop(); });
  await ready(admin);

  for (const n of [1, 5]) {
    t.test(`${n} polic${n === 1 ? 'y' : 'ies'} + global`, async (t) => {
      const c = client(r.url); clients.push(c); await ready(c);
      const rl = new RateLimitService(cfg({ policies: policies(n) }), { redis: c });
      await rl.start();
      t.equal((await rl.check(req('198.51.100.200'), 'request')).action, 'allow', 'warm-up (loads the script)');
      await admin.config('RESETSTAT');
      const N = 40;
      let allowed = 0;
      for (let i = 0; i < N; i++) {
        const d = await rl.check(req(`198.51.${n}.${i + 1}`), 'request');
        if (d.action === 'allow') allowed++;
      }
      t.equal(allowed, N);
      const counts = await commandCounts(admin);
      t.equal(counts.evalsha, N, `one EVALSHA per request (${JSON.stringify(counts)})`);
      t.equal(total(counts) - countInner(counts), N, `and no other command (${JSON.stringify(counts)})`);
      t.equal(counts.incr, N * (n + 1), `inside it, every policy (${n} + global) was counted`);
      // The counters are real: each client used one point of each of the n + 1 policies.
      t.equal(await admin.get(`{bulwark}:rl:p:p${n}:ip:198.51.${n}.7`), '1');
      t.equal(await admin.get(`{bulwark}:rl:p:global-ip:ip:198.51.${n}.7`), '1');
    });
  }

  t.test('refusal with escalation is still one command; the flood after it is answered from memory', async (t) => {
    const c = client(r.url); clients.push(c); await ready(c);
    const rl = new RateLimitService(cfg({ global: null, policies: [...policies(4), { name: 'tight', pathPrefix: '/api', key: 'ip', points: 2, durationSec: 60, blockSec: 5 }] }), { redis: c });
    await rl.check(req('198.51.100.250'), 'request');
    await admin.config('RESETSTAT');
    const ip = '203.0.113.9';
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push((await rl.check(req(ip), 'request')).action);
    t.same(seen, ['allow', 'allow', 'rate-limit']);
    const counts = await commandCounts(admin);
    t.equal(counts.evalsha, 3, 'three requests, three commands (the refusal set its block inside the script)');
    t.equal(total(counts) - countInner(counts), 3, `no other command (${JSON.stringify(counts)})`);
    t.equal(await admin.pttl(`{bulwark}:rl:p:tight:ip:${ip}`).then((ms) => ms > 3000 && ms <= 5000), true, 'the 5 s block is in Redis');
    for (let i = 0; i < 25; i++) {
      const d = await rl.check(req(ip), 'request');
      t.equal(d.action, 'rate-limit');
      if (d.action === 'rate-limit' && i === 0) {
        t.equal(d.policy, 'tight');
        t.ok(d.retryAfterSec >= 4 && d.retryAfterSec <= 5, `Retry-After from the block (${d.retryAfterSec})`);
      }
    }
    t.equal((await commandCounts(admin)).evalsha, 3, 'the 25 refused requests never reached Redis');
  });

  t.test('an unban at one instance clears the refusals the other keeps in memory', async (t) => {
    const pol = [{ name: 'tiny', pathPrefix: '/api', key: 'ip' as const, points: 1, durationSec: 60, blockSec: 60 }];
    const conns = [client(r.url), client(r.url), client(r.url), client(r.url)];
    for (const c of conns) { clients.push(c); await ready(c); }
    const a = new RateLimitService(cfg({ global: null, policies: pol }), { redis: conns[0], subscriber: conns[1] });
    const b = new RateLimitService(cfg({ global: null, policies: pol }), { redis: conns[2], subscriber: conns[3] });
    await a.start(); await b.start();
    const ip = '203.0.113.20';
    t.equal((await b.check(req(ip), 'request')).action, 'allow');
    t.equal((await b.check(req(ip), 'request')).action, 'rate-limit');
    t.ok(b.blocked.size > 0, 'b remembers the refusal');
    await a.unban(ip);
    const deadline = Date.now() + 5000;
    while (b.blocked.size > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    t.equal(b.blocked.size, 0, 'b forgot it when the unban was published');
    t.equal((await b.check(req(ip), 'request')).action, 'allow', 'and the client is counted afresh');
  });
});

function countInner(c: Record<string, number>): number {
  return (c.incr ?? 0) + (c.pttl ?? 0) + (c.pexpire ?? 0) + (c.set ?? 0);
}

t.test('proxy: the rate limiter sends one command per request (MONITOR on its own connection)', async (t) => {
  const r: TestRedis = await startRedis();
  const backend = await startBackend();
  const admin = client(r.url);
  await ready(admin);
  const make = (n: number) => startTestBulwark({
    upstream: backend.origin, mode: 'off', redis: { url: r.url },
    rateLimit: { attackBan: null, policies: policies(n, { pathPrefix: '/' }) },
  });
  const bws = [await make(1), await make(5)];
  const monitor = await admin.monitor();
  const commands: Array<{ source: string; name: string }> = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ source, name: String(args[0]).toLowerCase() }));
  t.teardown(async () => { monitor.disconnect(); admin.disconnect(); for (const b of bws) await b.close(); await backend.close(); await r.stop(); });

  for (const [i, bw] of bws.entries()) {
    const n = i === 0 ? 1 : 5;
    const hit = async () => { const res = await fetch(`${bw.url}/page`); await res.text(); return res.status; };
    t.equal(await hit(), 200, 'warm-up');
    // The rate limiter's connection(s), by the name it gives them.
    const list = await admin.client('LIST') as string;
    const sources = new Set([...list.matchAll(/addr=(\S+) .*name=bulwark-ratelimit/g)].map((m) => m[1]));
    t.ok(sources.size >= 1, 'found the rate limiter connection');
    await new Promise((res) => setTimeout(res, 100));
    commands.length = 0;
    const N = 30;
    const statuses = await Promise.all(Array.from({ length: N }, hit));
    t.same(new Set(statuses), new Set([200]));
    await new Promise((res) => setTimeout(res, 300)); // MONITOR lines arrive after the replies
    const mine = commands.filter((c) => sources.has(c.source) && c.name !== 'info');
    const evalsha = mine.filter((c) => c.name === 'evalsha').length;
    t.equal(evalsha, N, `${n} polic${n === 1 ? 'y' : 'ies'} + global: ${N} requests, ${N} EVALSHA`);
    t.equal(mine.filter((c) => c.name !== 'evalsha' && c.source !== 'lua').length, 0, `nothing else (${[...new Set(mine.map((c) => c.name))].join(',')})`);
  }
});
