import t from 'tap';
import { Agent, request } from 'node:http';
import { startBackend } from '../helpers/backend.ts';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';

t.test('a keep-alive connection serves at most limits.maxRequestsPerSocket requests', async (t) => {
  const backend = await startBackend();
  const bw = await startTestBulwark({ ...PROXY_ONLY, upstream: backend.origin, limits: { maxRequestsPerSocket: 3 } });
  t.teardown(async () => { await bw.close(); await backend.close(); });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const connections: string[] = [];
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: bw.port, path: `/r${i}`, agent }, (res) => {
        connections.push(String(res.headers.connection));
        res.resume();
        res.on('end', resolve);
      });
      req.on('socket', (s) => sockets.add(s));
      req.on('error', reject);
      req.end();
    });
  }
  agent.destroy();
  t.equal(connections[2], 'close', 'the third response on one connection says Connection: close');
  t.equal(sockets.size, 2, 'the fourth request needed a new connection');
});
