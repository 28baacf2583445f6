import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { capConnectionsPerPeer, InFlight } from '../../src/ratelimit/connections.ts';

t.test('connections over the per-peer cap are closed at once', async (t) => {
  const server = createServer((s) => s.on('data', () => undefined));
  const rejected: string[] = [];
  const count = capConnectionsPerPeer(server, 2, (p) => rejected.push(p));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const open = async (): Promise<Socket> => new Promise((res) => { const s = connect(port, '127.0.0.1', () => res(s)); });
  const a = await open();
  const b = await open();
  const c = await open();
  const closed = await new Promise<boolean>((res) => { c.once('close', () => res(true)); setTimeout(() => res(false), 1000); });
  t.ok(closed, 'third connection closed by the server');
  t.equal(rejected.length, 1);
  t.equal(count('127.0.0.1'), 2);
  a.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(count('127.0.0.1'), 1, 'a closed connection frees its slot');
  const d = await open();
  const dClosed = await new Promise<boolean>((res) => { d.once('close', () => res(true)); setTimeout(() => res(false), 200); });
  t.notOk(dClosed, 'a new connection fits again');
  b.destroy(); d.destroy();
});

t.test('in-flight counter', async (t) => {
  const f = new InFlight(2);
  t.ok(f.enter('a')); t.ok(f.enter('a')); t.notOk(f.enter('a')); t.ok(f.enter('b'));
  f.leave('a'); t.ok(f.enter('a')); t.equal(f.current('a'), 2);
});
