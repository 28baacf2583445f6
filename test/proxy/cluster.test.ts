// Cluster mode through the real CLI: N workers share the listeners, serve requests, and all stop on SIGTERM with exit 0.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { spawnBulwark } from '../helpers/bulwark.ts';

// Spawns tsx subprocesses: slow to start when the shared 2-core machine is loaded.
t.setTimeout(240_000);

t.test('--workers 2 starts two workers on one port; SIGTERM stops them all', async (t) => {
  const backend = await startBackend();
  const bw = await spawnBulwark(['--upstream', backend.origin, '--workers', '2', '--mode', 'off']);
  t.teardown(async () => {
    bw.proc.kill('SIGKILL');
    await backend.close();
  });
  // wait for the second worker
  const deadline = Date.now() + 30_000;
  const listening = () => bw.stdout().split('\n').filter((l) => l.includes('"bulwark listening"')).map((l) => JSON.parse(l) as { pid: number; proxy: string });
  while (listening().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const lines = listening();
  t.equal(lines.length, 2, 'two workers listening');
  t.equal(new Set(lines.map((l) => l.pid)).size, 2, 'in two processes');
  t.equal(new Set(lines.map((l) => l.proxy)).size, 1, 'on the same address');
  for (let i = 0; i < 10; i++) {
    const res = await request(`${bw.url}/c${i}`);
    await res.body.text();
    t.equal(res.statusCode, 200);
  }
  t.equal(backend.count, 10);
  t.equal(await bw.stop('SIGTERM'), 0, 'primary exits 0 after the workers stopped');
  t.equal(bw.stdout().split('\n').filter((l) => l.includes('"bulwark stopped"')).length, 2, 'each worker stopped gracefully');
});
