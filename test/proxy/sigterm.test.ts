// Graceful shutdown of the real CLI process: SIGTERM lets an in-flight request finish, refuses new connections, exits 0.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../helpers/backend.ts';
import { spawnBulwark } from '../helpers/bulwark.ts';

// Spawns tsx subprocesses: slow to start when the shared 2-core machine is loaded.
t.setTimeout(240_000);

t.test('SIGTERM finishes the in-flight request, then exits 0', async (t) => {
  const backend = await startBackend((_req, res) => setTimeout(() => res.end('finished'), 1000));
  const bw = await spawnBulwark(['--upstream', backend.origin, '--mode', 'off']);
  t.teardown(async () => {
    bw.proc.kill('SIGKILL');
    await backend.close();
  });
  const inFlight = request(`${bw.url}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  while (backend.received.length === 0) {
    // wait until the backend holds the request
    await new Promise((r) => setTimeout(r, 20));
    if (bw.proc.exitCode !== null) break;
  }
  await new Promise((r) => setTimeout(r, 100));
  bw.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const refused = await request(`${bw.url}/new`).then(
    (r) => r.statusCode,
    (e: NodeJS.ErrnoException) => e.code ?? 'error',
  );
  t.not(refused, 200, `a new request after SIGTERM is not served (${refused})`);
  const res = await inFlight;
  t.equal(res.status, 200);
  t.equal(res.body, 'finished');
  t.equal(await bw.exited, 0, 'exit code 0');
  t.match(bw.stdout(), /shutting down/);
  t.match(bw.stdout(), /bulwark stopped/);
});
