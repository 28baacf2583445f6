// JSON reading: paths, keys, depth cap, huge and hostile bodies.
import t from 'tap';
import { readJson } from '../../src/inspect/body/json.ts';
import { buildRequestView } from '../../src/inspect/request-view.ts';

function collect(text: string, maxDepth = 64) {
  const leaves: Array<[string, string]> = [];
  const keys: Array<[string, string]> = [];
  const outcome = readJson(text, maxDepth, { leaf: (p, v) => (leaves.push([p, v]), true), key: (p, k) => void keys.push([p, k]) });
  return { outcome, leaves, keys };
}

t.test('paths through objects and arrays', async (t) => {
  const r = collect('{"a":{"b":[1,{"c":"x"}]},"d":[],"e":{},"f":"","g":1.5e3}');
  t.equal(r.outcome, 'ok');
  t.same(r.leaves, [['a.b.0', '1'], ['a.b.1.c', 'x'], ['f', ''], ['g', '1500']]);
  t.same(r.keys.map((k) => k[1]).sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  t.same(collect('[["x"]]').leaves, [['0.0', 'x']]);
  t.same(collect('42').leaves, [['$', '42']]);
});

t.test('attack in a key is visible in args_names', async (t) => {
  const v = buildRequestView({ method: 'POST', url: '/', httpVersion: '1.1', headers: [['content-type', 'application/json']], body: Buffer.from('{"1\' or \'1\'=\'1":{"__proto__":{"admin":true}}}') });
  const names = v.targets.filter((x) => x.collection === 'args_names').map((x) => x.value);
  t.ok(names.includes("1' or '1'='1"));
  t.ok(names.includes('__proto__'));
});

t.test('too deep: deeper leaves are still read, under the capped path', async (t) => {
  const r = collect('{"a":{"b":{"c":{"d":"deep payload"},"e":[1]}}}', 2);
  t.equal(r.outcome, 'too_deep');
  t.same(r.leaves, [['a.b', 'deep payload'], ['a.b', '1']]);
  t.doesNotThrow(() => collect('['.repeat(200_000) + '"x"' + ']'.repeat(200_000)));
  const v = buildRequestView({ method: 'POST', url: '/', httpVersion: '1.1', headers: [['content-type', 'application/json']], body: Buffer.from('['.repeat(5000) + ']'.repeat(5000)) });
  t.ok(v.findings.some((f) => f.code === 'json_too_deep'));
});

t.test('invalid JSON', async (t) => {
  for (const s of ['{', '{"a":}', "{'a':1}", '[1,]', 'nul']) t.equal(collect(s).outcome, 'invalid', s);
});

t.test('1 MB JSON body is read within budget and args are capped', async (t) => {
  const rows = [];
  for (let i = 0; rows.length < 12000; i++) rows.push({ id: i, name: `user ${i}`, email: `u${i}@example.test`, bio: 'x'.repeat(40) });
  const body = Buffer.from(JSON.stringify({ rows }));
  t.ok(body.length > 1_000_000);
  const input = { method: 'POST', url: '/api/import', httpVersion: '1.1', headers: [['content-type', 'application/json']] as Array<[string, string]>, body };
  buildRequestView(input);
  const start = process.hrtime.bigint();
  const v = buildRequestView(input);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.comment(`1 MB JSON view: ${ms.toFixed(1)} ms (shared machine: noisy)`);
  t.ok(ms < 1000, `${ms.toFixed(1)} ms (loose bound: catches super-linear work, not noise)`);
  t.equal(v.targets.filter((x) => x.collection === 'json').length, 5000);
  t.ok(v.findings.some((f) => f.code === 'args_too_many'));
});
