// Upstream pools on real loopback backends: weights, least-in-flight, passive ejection + retry, active health (kill → shift, back → rejoin), all down → 503.
import t from 'tap';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import { deadPort } from '../helpers/ports.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const site = (pool: Record<string, unknown>) => ({ ...PROXY_ONLY, sites: [{ name: 'app', hosts: ['*'], ...pool }] });

async function get(url: string, method = 'GET'): Promise<number> {
  const res = await request(url, { method });
  await res.body.dump();
  return res.statusCode;
}

t.test('round-robin follows the weights (3:1) and the single-string upstream still works', async (t) => {
  const a = await startBackend();
  const b = await startBackend();
  const bw = await startTestBulwark(site({ upstreams: [{ url: a.origin, weight: 3 }, { url: b.origin, weight: 1 }] }));
  t.teardown(async () => {
    await bw.close();
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 40; i++) t.equal(await get(`${bw.url}/r${i}`), 200);
  t.equal(a.count, 30, 'weight 3 gets 3/4');
  t.equal(b.count, 10, 'weight 1 gets 1/4');
  // Smooth: never more than 3 in a row on the heavy server.
  const order = [...a.received.map((r) => ({ s: 'a', n: Number(r.url.slice(2)) })), ...b.received.map((r) => ({ s: 'b', n: Number(r.url.slice(2)) }))].sort((x, y) => x.n - y.n).map((x) => x.s).join('');
  t.notMatch(order, /aaaa/);

  const single = await startTestBulwark({ ...PROXY_ONLY, sites: [{ name: 'one', hosts: ['*'], upstream: b.origin }] });
  t.teardown(() => single.close());
  t.equal(await get(`${single.url}/single`), 200);
  t.equal(b.received.at(-1)?.url, '/single');
});

t.test('least-in-flight sends new requests to the idle server while the other is busy', async (t) => {
  const slow = (ms: number) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const done = () => res.end('ok');
    if (req.url === '/slow') setTimeout(done, ms);
    else done();
  };
  const a = await startBackend(slow(1500));
  const b = await startBackend(slow(1500));
  const bw = await startTestBulwark(site({ upstreams: [{ url: a.origin }, { url: b.origin }], balance: 'least-in-flight' }));
  t.teardown(async () => {
    await bw.close();
    await a.close();
    await b.close();
  });
  const pending = get(`${bw.url}/slow`);
  await sleep(300);
  const busy = a.received.some((r) => r.url === '/slow') ? a : b;
  const idle = busy === a ? b : a;
  for (let i = 0; i < 6; i++) t.equal(await get(`${bw.url}/fast${i}`), 200);
  t.equal(idle.received.filter((r) => r.url.startsWith('/fast')).length, 6, 'all six went to the idle server');
  t.equal(await pending, 200);
});

t.test('passive ejection: connect failures are retried on another server (idempotent only), then the dead one is skipped', async (t) => {
  const alive = await startBackend();
  const dead = await deadPort();
  const bw = await startTestBulwark(site({ upstreams: [{ url: `http://127.0.0.1:${dead}` }, { url: alive.origin }], passive: { failures: 2, ejectMs: 60_000 } }));
  t.teardown(async () => {
    await bw.close();
    await alive.close();
  });
  for (let i = 0; i < 10; i++) t.equal(await get(`${bw.url}/g${i}`), 200, 'GET never sees the dead server');
  t.equal(alive.count, 10);
  const failures = bw.logs.filter((l) => l.msg === 'upstream connect failed');
  t.equal(failures.length, 2, 'two connect failures, then ejected');

  // A POST is not retried: with a fresh pool it may hit the dead server and gets our 502 page, never a backend address.
  const bw2 = await startTestBulwark(site({ upstreams: [{ url: `http://127.0.0.1:${dead}` }, { url: alive.origin }], passive: { failures: 5, ejectMs: 60_000 } }));
  t.teardown(() => bw2.close());
  const before = alive.count;
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await request(`${bw2.url}/p${i}`, { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const text = await res.body.text();
    t.notMatch(text, new RegExp(String(dead)));
    codes.push(res.statusCode);
  }
  t.same(codes.sort(), [200, 200, 502, 502], 'round-robin: half the POSTs hit the dead server and are not replayed');
  t.equal(alive.count - before, 2);
});

t.test('active health: kill one → traffic shifts with no client error; bring it back → it rejoins; all down → 503 fast', async (t) => {
  const a = await startBackend();
  let b: Backend = await startBackend();
  const bPort = b.port;
  const bw = await startTestBulwark(
    site({ upstreams: [{ url: a.origin }, { url: b.origin }], health: { path: '/healthz', intervalMs: 200, healthyThreshold: 1, unhealthyThreshold: 1 } }),
  );
  t.teardown(async () => {
    await bw.close();
    await a.close();
    await b.close();
  });
  await sleep(300);
  for (let i = 0; i < 10; i++) await get(`${bw.url}/x${i}`);
  const bBefore = b.received.filter((r) => r.url.startsWith('/x')).length;
  t.equal(bBefore, 5, 'both serve before');

  await b.close();
  const killedAt = Date.now();
  const statuses: number[] = [];
  while (Date.now() - killedAt < 1000) statuses.push(await get(`${bw.url}/during`));
  t.ok(statuses.length > 10);
  t.ok(statuses.every((s) => s === 200), `no client error while one is down (${statuses.length} GETs)`);
  const unhealthy = bw.logs.find((l) => l.msg === 'upstream marked unhealthy');
  t.ok(unhealthy, 'marked unhealthy by the health check');
  t.ok((unhealthy?.time as number) - killedAt < 1000, 'within a few health intervals (200 ms each)');

  b = await startBackend(null, bPort);
  const backAt = Date.now();
  while (Date.now() - backAt < 3000 && !bw.logs.some((l) => l.msg === 'upstream healthy again')) await sleep(50);
  t.ok(bw.logs.some((l) => l.msg === 'upstream healthy again'), `health check sees it back (${Date.now() - backAt} ms)`);
  for (let i = 0; i < 10; i++) t.equal(await get(`${bw.url}/after${i}`), 200);
  t.ok(b.received.filter((r) => r.url.startsWith('/after')).length >= 4, 'it rejoins the rotation');

  await a.close();
  await b.close();
  await sleep(500);
  const start = Date.now();
  const res = await request(`${bw.url}/down`, { headers: { accept: 'application/json' } });
  const j = (await res.body.json()) as { error: { code: string } };
  const took = Date.now() - start;
  t.equal(res.statusCode, 503);
  t.equal(j.error.code, 'WAF_ERR_NO_UPSTREAM');
  // Fast = no connect attempt or retry wait: those take seconds; the bound leaves room for a busy CI machine.
  t.ok(took < 1000, `503 fast (${took} ms)`);
  t.notMatch(JSON.stringify(j), new RegExp(`${a.port}|${bPort}`));
});
