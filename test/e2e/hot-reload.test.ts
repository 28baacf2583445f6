/**
 * Two Bulwark instances on one real redis-server: a disable / exclusion made through one instance's admin API takes
 * effect on the other within 1 s (blocked → allowed → blocked; the delay is the other instance's own swap time minus
 * the version's creation time, see ../store/propagation.ts); a broken push is refused and both keep blocking;
 * redis-server killed during traffic: no 5xx, still inspected; restarted empty: a change made then is picked up.
 */
import t from 'tap';
import { startRedis } from '../helpers/redis.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark, spawnCli, type TestBulwark } from '../helpers/bulwark.ts';
import type { LiveRuleset } from '../../src/store/live-ruleset.ts';
import type { CompiledRuleset } from '../../src/inspect/engine.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import { PROPAGATION_MS, propagationMs, waitUntil } from '../store/propagation.ts';

const TOKEN = 'e2e-admin-token-0123456789';
const ATTACK = "/search?q=1'+UNION+SELECT+username,password+FROM+users--";
const BENIGN = '/search?q=union+station+opening+hours';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const status = async (b: TestBulwark, path: string) => (await fetch(b.url + path)).status;
async function api(b: TestBulwark, method: string, path: string, body?: unknown) {
  const res = await fetch(`${b.adminUrl}/api${path}`, {
    method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const live = (b: TestBulwark) => b.running.services.rules as unknown as LiveRuleset<CompiledRuleset>;

t.test('two instances on one redis', async (t) => {
  const redis = await startRedis();
  const backend = await startBackend();
  const config = {
    upstream: backend.origin,
    logging: { level: 'warn' },
    redis: { url: redis.url, maxBackoffMs: 200, pollMs: 1000 },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'alice', token: TOKEN, role: 'admin' }] },
    // The traffic below sends dozens of attacks from one address: without this, the attack ban (20 blocked attacks)
    // would answer 403 to the request that checks a disabled signature lets the attack through.
    rateLimit: { attackBan: null },
  };
  const a = await startTestBulwark(config);
  const b = await startTestBulwark(config);
  t.teardown(async () => { await a.close(); await b.close(); await backend.close(); await redis.stop(); });
  t.ok(a.running.services.inspector, 'the inspection plugin is wired');
  await waitUntil(() => live(a).live().version === live(b).live().version && live(a).live().version > 0, 'both instances on one version');

  // The signatures that block the attack, from the engine itself.
  const verdict = live(a).current().inspect(exampleToInput(ATTACK), { paranoia: 1, threshold: 5, mode: 'block' });
  const ids = [...new Set(verdict.matches.map((m) => m.id))];
  t.ok(ids.length > 0, `attack matched by ${ids.join(', ')}`);
  t.equal(await status(a, ATTACK), 403);
  t.equal(await status(b, ATTACK), 403);
  t.equal(await status(b, BENIGN), 200);

  t.test('disable through A → allowed on B within 1 s; enable through B → blocked on A', async (t) => {
    let v = 0;
    for (const id of ids) {
      const r = await api(a, 'POST', `/rules/${id}/disable`);
      t.equal(r.status, 200, JSON.stringify(r.json));
      v = r.json.version as number;
    }
    const ms = await propagationMs(live(b), v);
    t.ok(ms <= PROPAGATION_MS, `B runs version ${v} ${ms} ms after it was made (bound ${PROPAGATION_MS} ms)`);
    t.equal(await status(b, ATTACK), 200, 'B allows the request');
    for (const id of ids) v = (await api(b, 'POST', `/rules/${id}/enable`)).json.version as number;
    const back = await propagationMs(live(a), v);
    t.ok(back <= PROPAGATION_MS, `A runs version ${v} ${back} ms after it was made`);
    t.equal(await status(a, ATTACK), 403, 'A blocks again');
    const h = await api(a, 'GET', '/rules/history?limit=2');
    t.match(h.json, { history: [{ author: 'alice', action: 'enable' }, { author: 'alice' }] }, 'audit names the token');
  });

  t.test('an exclusion through B → allowed on A for that path/arg only; removed → blocked', async (t) => {
    const r = await api(b, 'POST', '/exclusions', { rule: '*', pathPrefix: '/search', target: 'args:q', note: 'e2e' });
    t.equal(r.status, 201, JSON.stringify(r.json));
    const id = ((r.json.detail as string).match(/ex-[0-9a-f]+/) ?? [''])[0];
    const ms = await propagationMs(live(a), r.json.version as number);
    t.ok(ms <= PROPAGATION_MS, `A runs the exclusion's version ${ms} ms after it was made`);
    t.equal(await status(a, ATTACK), 200, 'A allows it on /search');
    t.equal(await status(a, ATTACK.replace('/search', '/other')), 403, 'other paths still inspected');
    const d = await api(a, 'DELETE', `/exclusions/${id}`);
    t.equal(d.status, 200);
    const back = await propagationMs(live(b), d.json.version as number);
    t.ok(back <= PROPAGATION_MS, `B runs the removal's version ${back} ms after it was made`);
    t.equal(await status(b, ATTACK), 403, 'B blocks again');
  });

  t.test('a broken pattern push is refused and both keep blocking', async (t) => {
    const before = live(a).live().version;
    const signatures = [...live(a).live().snapshot.signatures, {
      id: 999901, name: 'broken', family: 'test', paranoia: 1, severity: 'critical', targets: ['args'], transforms: [],
      operator: 'rx', pattern: '(unclosed', tags: [], examples: { match: ['/?q=(unclosed'], pass: ['/?q=fine'] },
    }];
    const r = await api(a, 'PUT', '/rules/library', { signatures });
    t.equal(r.status, 422);
    t.equal(r.json.error, 'WAF_ERR_SIGNATURE_INVALID');
    t.match(r.json.message, /999901/);
    await sleep(200);
    t.equal(live(a).live().version, before);
    t.equal(live(b).live().version, before);
    t.equal(await status(a, ATTACK), 403);
    t.equal(await status(b, ATTACK), 403);
  });

  t.test('a site mode set through A applies on B (detect forwards the attack, block again blocks it)', async (t) => {
    const d = await api(a, 'PUT', '/modes/default', { mode: 'detect' });
    t.equal(d.status, 200, JSON.stringify(d.json));
    t.ok(await propagationMs(live(b), d.json.version as number) <= PROPAGATION_MS, 'B runs the mode change within the bound');
    t.equal(await status(b, ATTACK), 200, 'detect mode: logged and forwarded');
    const k = await api(b, 'PUT', '/modes/default', { mode: 'block' });
    t.ok(await propagationMs(live(a), k.json.version as number) <= PROPAGATION_MS, 'A runs it within the bound');
    t.equal(await status(a, ATTACK), 403);
  });

  t.test('the CLI talks to the same API', async (t) => {
    const cli = await spawnCli(['rules', 'history', '--limit', '3', '--admin', a.adminUrl, '--token', TOKEN]);
    t.equal(await cli.exited, 0, cli.err());
    t.match(cli.out(), /alice {2}mode {2}site default: detect → block/);
  });

  t.test('redis killed during traffic: no 5xx, still inspected; restarted empty: changes flow again', async (t) => {
    const statuses: number[] = [];
    let attacks = 0;
    let blocked = 0;
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const inst = i % 2 ? a : b;
        const attack = i % 3 === 0;
        const s = await status(inst, attack ? ATTACK : BENIGN);
        statuses.push(s);
        if (attack) { attacks++; if (s === 403) blocked++; }
      }
    })();
    await sleep(200);
    await redis.kill();
    await waitUntil(() => !live(a).status().storeReachable && !live(b).status().storeReachable, 'both to see redis gone');
    const ready = await fetch(`${b.adminUrl}/readyz`).then((r) => r.json()) as { checks: { rules: { detail: { storeReachable: boolean; version: number } } } };
    t.equal(ready.checks.rules.detail.storeReachable, false, '/readyz says the store is unreachable');
    const r = await api(a, 'POST', `/rules/${ids[0]}/disable`);
    t.equal(r.status, 503, 'a change cannot be stored while redis is down');
    t.equal(r.json.error, 'WAF_ERR_STORE_UNAVAILABLE');
    await sleep(500);
    stop = true;
    await traffic;
    t.same(statuses.filter((s) => s >= 500), [], `no 5xx in ${statuses.length} requests`);
    t.equal(blocked, attacks, `all ${attacks} attacks blocked with the last snapshot`);

    await redis.start();
    await waitUntil(() => live(a).status().storeReachable && live(b).status().storeReachable, 'both to reconnect');
    let v = 0;
    for (const id of ids) {
      const d = await api(a, 'POST', `/rules/${id}/disable`);
      t.equal(d.status, 200, JSON.stringify(d.json));
      v = d.json.version as number;
    }
    const ms = await propagationMs(live(b), v);
    t.ok(ms <= PROPAGATION_MS, `B picked up a change made after the restart ${ms} ms after it was made`);
    t.equal(await status(b, ATTACK), 200);
  });
});
