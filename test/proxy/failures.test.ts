// Backend failures and body limits: our own 502/504 pages without upstream details, 413 per route, 'partial' body policy, the inspection hook.
import t from 'tap';
import { request } from 'undici';
import type { FastifyPluginAsync } from 'fastify';
import { startBackend, type Backend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import type { WafContext } from '../../src/services.ts';
import { deadPort } from '../helpers/ports.ts';


t.test('backend down → 502 page with no address, port or stack (HTML and JSON)', async (t) => {
  const port = await deadPort();
  const bw = await startTestBulwark({ ...PROXY_ONLY, upstream: `http://127.0.0.1:${port}` });
  t.teardown(() => bw.close());
  const html = await request(`${bw.url}/x`);
  const body = await html.body.text();
  t.equal(html.statusCode, 502);
  t.notMatch(body, new RegExp(`127\\.0\\.0\\.1|${port}|ECONNREFUSED|at `));
  const json = await request(`${bw.url}/x`, { headers: { accept: 'application/json' } });
  const j = (await json.body.json()) as { error: { code: string; requestId: string } };
  t.equal(json.statusCode, 502);
  t.equal(j.error.code, 'WAF_ERR_UPSTREAM_UNAVAILABLE');
  t.equal(j.error.requestId, json.headers['x-request-id']);
  t.notMatch(JSON.stringify(j), new RegExp(`${port}`));
  t.ok(bw.logs.some((l) => l.code === 'WAF_ERR_UPSTREAM_UNAVAILABLE' && l.reqId === j.error.requestId), 'a log line with the request id');
});

t.test('slow backend → 504 at the configured timeout', async (t) => {
  const slow = await startBackend((_req, res) => setTimeout(() => res.end('late'), 3000));
  const bw = await startTestBulwark({ ...PROXY_ONLY, upstream: slow.origin, proxy: { upstreamTimeoutMs: 400 } });
  t.teardown(async () => {
    await bw.close();
    await slow.close();
  });
  const start = Date.now();
  const res = await request(`${bw.url}/slow`);
  const body = await res.body.text();
  const took = Date.now() - start;
  t.equal(res.statusCode, 504);
  t.ok(took >= 380 && took < 2500, `answered after ${took} ms`);
  t.notMatch(body, new RegExp(`127\\.0\\.0\\.1|${slow.port}`));
});

t.test('a route can set its own upstream timeout', async (t) => {
  const slow = await startBackend((_req, res) => setTimeout(() => res.end('late'), 1800));
  const bw = await startTestBulwark({
    ...PROXY_ONLY,
    upstream: slow.origin,
    proxy: { upstreamTimeoutMs: 5000 },
    sites: [{ name: 's', hosts: ['*'], upstream: slow.origin, routes: [{ prefix: '/fast/', timeoutMs: 300 }] }],
  });
  t.teardown(async () => {
    await bw.close();
    await slow.close();
  });
  const fast = await request(`${bw.url}/fast/x`);
  await fast.body.text();
  t.equal(fast.statusCode, 504);
  const normal = await request(`${bw.url}/other`);
  t.equal(await normal.body.text(), 'late');
});

t.test('body limits per route; reject vs partial inspection policy', async (t) => {
  const backend = await startBackend();
  const seen: WafContext[] = [];
  const inspector: FastifyPluginAsync = async (app) => {
    app.addHook('preHandler', async (request, reply) => {
      seen.push({ ...request.waf });
      if (request.waf.inspectBody?.includes('EVIL')) {
        request.waf.eventId = 'ev-test-1';
        return reply.code(403).type('text/plain').send('blocked ' + request.waf.eventId);
      }
    });
  };
  const bw = await startTestBulwark(
    {
      ...PROXY_ONLY,
      upstream: backend.origin,
      limits: { maxBodyBytes: 4000 },
      inspection: { bodyLimit: 1000, bodyPolicy: 'reject' },
      sites: [{ name: 's', hosts: ['*'], upstream: backend.origin, routes: [{ prefix: '/upload/', bodyPolicy: 'partial' }, { prefix: '/tiny/', maxBodyBytes: 10 }] }],
    },
    { inspector },
  );
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const post = async (path: string, body: string) => {
    const res = await request(`${bw.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    return { status: res.statusCode, text: await res.body.text() };
  };

  let n = backend.count;
  t.equal((await post('/form', 'a'.repeat(1000))).status, 200, 'at the inspection limit: forwarded');
  t.equal(backend.count, ++n);
  t.equal((await post('/form', 'a'.repeat(1001))).status, 413, "reject: over the inspection limit → 413");
  t.equal(backend.count, n);
  t.equal((await post('/tiny/x', 'a'.repeat(11))).status, 413, 'route maxBodyBytes');
  t.equal(backend.count, n);

  const big = 'a'.repeat(2500);
  t.equal((await post('/upload/x', big)).status, 200, 'partial: longer body forwarded whole');
  t.equal(backend.received[backend.received.length - 1].body.toString(), big);
  const ctx = seen[seen.length - 1];
  t.equal(ctx.bodyTruncated, true);
  t.equal(ctx.inspectBody?.length, 1000);
  t.equal(ctx.body?.length, 2500);
  t.equal((await post('/upload/x', 'a'.repeat(4001))).status, 413, 'partial still has the hard limit');
  n = backend.count;

  const blocked = await post('/form', 'x=EVIL');
  t.equal(blocked.status, 403, 'the inspection hook sees the body and can block');
  t.equal(blocked.text, 'blocked ev-test-1');
  t.equal(backend.count, n, 'blocked request not forwarded');
  t.equal(seen[seen.length - 1].site, 's');
  t.equal(seen[seen.length - 1].clientIp, '127.0.0.1');
});
