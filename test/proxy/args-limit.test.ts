// More arguments than the inspection reads (5000: query, form fields, JSON leaves): under bodyPolicy reject (the
// default) the request is refused with 413 and never forwarded, so an attack hidden after 5000 harmless leaves does
// not reach the backend uninspected; a route with bodyPolicy partial forwards it (flagged); an attack in the
// inspected part is still a 403 block.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

t.test('arguments beyond the inspected 5000', async (t) => {
  const backend = await startBackend();
  const bw = await startTestBulwark({
    upstream: backend.origin,
    inspection: { bodyLimit: 1024 * 1024, bodyPolicy: 'reject' },
    sites: [{ name: 's', hosts: ['*'], upstream: backend.origin, routes: [{ prefix: '/bulk/', bodyPolicy: 'partial' }] }],
  });
  t.teardown(async () => {
    await bw.close();
    await backend.close();
  });
  const attack = "1' UNION SELECT password FROM users--";
  const doc = (leaves: number, last: string) => JSON.stringify([...Array.from({ length: leaves - 1 }, (_, i) => i), last]);
  const post = async (path: string, body: string) => {
    const res = await request(`${bw.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json' } });
    return { status: res.statusCode, text: await res.body.text() };
  };

  let n = backend.count;
  t.equal((await post('/api/import', doc(5000, 'x'))).status, 200, '5000 leaves: all inspected, forwarded');
  t.equal(backend.count, ++n);

  const over = await post('/api/import', doc(5001, attack));
  t.equal(over.status, 413, '5001 leaves with an attack in the last: refused');
  t.match(over.text, /WAF_ERR_TOO_MANY_ARGS/);
  t.equal(backend.count, n, 'not forwarded');
  t.ok(bw.logs.some((l) => l.msg === 'request rejected: more arguments than are inspected'), 'logged');

  const first = await post('/api/import', JSON.stringify([attack, ...Array.from({ length: 5001 }, (_, i) => i)]));
  t.equal(first.status, 403, 'an attack in the inspected part is a block');
  t.equal(backend.count, n);

  t.equal((await post('/bulk/import', doc(5001, 'x'))).status, 200, 'partial route: forwarded');
  t.equal(backend.count, ++n);
});
