/** The Redis store on a real 3-node Redis Cluster (started by the test): one snapshot's keys share a slot, so the Lua commit runs. */
import t from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/redis.ts';
import { RedisRuleStore } from '../../src/store/redis-store.ts';
import { makeSnapshot } from '../../src/store/snapshot.ts';
import { baseContent } from './fixtures.ts';

const run = promisify(execFile);
const waitFor = async (pred: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await pred())) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 100)); }
};

t.test('3-node cluster', async (t) => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const procs: ChildProcess[] = ports.map((port) => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-cluster-'));
    return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'),
      '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  });
  t.teardown(() => { for (const p of procs) p.kill('SIGKILL'); });
  await waitFor(async () => (await Promise.all(ports.map((p) => run('redis-cli', ['-p', String(p), 'ping']).then((r) => r.stdout.includes('PONG'), () => false)))).every(Boolean));
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  await waitFor(async () => (await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'])).stdout.includes('cluster_state:ok'));

  const mk = () => new RedisRuleStore({ target: { cluster: [`127.0.0.1:${ports[1]}`] }, namespace: 'acme', keepVersions: 2 });
  const a = mk();
  const b = mk();
  t.teardown(async () => { await a.close(); await b.close(); });
  await a.start(); await b.start();
  await waitFor(() => a.status().reachable && b.status().reachable);
  const seen: number[] = [];
  b.onPublished((v) => seen.push(v));
  await new Promise((r) => setTimeout(r, 300));
  for (let v = 1; v <= 3; v++) {
    const s = makeSnapshot(baseContent(), { version: v, author: 'alice', change: `v${v}` });
    t.same(await a.commit(s, { version: v, at: s.createdAt, author: 'alice', action: 't', detail: `v${v}` }, v - 1), { ok: true, version: v });
  }
  t.same(await a.commit(makeSnapshot(baseContent(), { version: 9, author: 'x', change: 'stale' }), { version: 9, at: '', author: 'x', action: 't', detail: '' }, 1), { ok: false, current: 3 });
  await waitFor(() => seen.length === 3, 3000);
  t.same(seen, [1, 2, 3], 'published through the cluster');
  t.same(await b.versions(), [3, 2]);
  t.equal((await b.load())?.signatures.length, 3);
  t.equal(await b.load(1), null, 'trimmed');
  t.equal((await b.history(1))[0].detail, 'v3');
});
