// WebSocket through Bulwark: a real client (undici WebSocket) ↔ a minimal WebSocket echo backend; the handshake is inspected.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t from 'tap';
import { WebSocket } from 'undici';
import type { FastifyPluginAsync } from 'fastify';
import { rawRequest, rawStatus, PROXY_ONLY, startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';

const sockets = new Set<Socket>();
/** A WebSocket echo server that handles small text frames (enough for the test), counting handshakes. */
function wsEcho(): Promise<{ server: Server; origin: string; handshakes: Array<Record<string, string | string[] | undefined>> }> {
  const handshakes: Array<Record<string, string | string[] | undefined>> = [];
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket);
    handshakes.push(req.headers);
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: daphne\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (frame: Buffer) => {
      const opcode = frame[0] & 0x0f;
      const len = frame[1] & 0x7f;
      if (opcode === 8) return socket.end(Buffer.from([0x88, 0]));
      const mask = frame.subarray(2, 6);
      const payload = Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
      socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, handshakes })));
}

let ws: Awaited<ReturnType<typeof wsEcho>>;
let bw: TestBulwark;
t.before(async () => {
  ws = await wsEcho();
  const inspector: FastifyPluginAsync = async (app) => {
    app.addHook('preHandler', async (request, reply) => {
      if (request.raw.url?.includes('EVIL')) return reply.code(403).send('blocked');
    });
  };
  bw = await startTestBulwark({ ...PROXY_ONLY, upstream: ws.origin }, { inspector });
});
t.teardown(async () => {
  await bw.close();
  for (const s of sockets) s.destroy();
  ws.server.closeAllConnections();
  ws.server.close();
});

t.test('messages go both ways through the tunnel; the handshake carries our forwarded headers', async (t) => {
  const client = new WebSocket(`ws://127.0.0.1:${bw.port}/chat?room=1`);
  const got = await new Promise<string>((resolve, reject) => {
    client.onopen = () => client.send('hello through bulwark');
    client.onmessage = (e) => resolve(String(e.data));
    client.onerror = () => reject(new Error('websocket error'));
  });
  t.equal(got, 'hello through bulwark');
  client.close();
  const h = ws.handshakes[ws.handshakes.length - 1];
  t.equal(h['x-forwarded-for'], '127.0.0.1');
  t.match(h['x-request-id'], /^[0-9a-f-]{36}$/);
  t.equal(h.upgrade, 'websocket');
});

t.test('the 101 answer does not carry the backend Server header', async (t) => {
  const out = await rawRequest(
    bw.port,
    'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    400,
  );
  t.equal(rawStatus(out), 101);
  t.notMatch(out, /^server:/im);
  t.match(out, /^sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/im);
});

t.test('a handshake the inspector blocks gets 403 and never reaches the backend', async (t) => {
  const before = ws.handshakes.length;
  const out = await rawRequest(
    bw.port,
    'GET /chat?x=EVIL HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    400,
  );
  t.equal(rawStatus(out), 403);
  t.equal(ws.handshakes.length, before);
});

t.test('backend down during a handshake → 502 page, socket closed', async (t) => {
  const dead = await startTestBulwark({ ...PROXY_ONLY, upstream: 'http://127.0.0.1:1' });
  t.teardown(() => dead.close());
  const out = await rawRequest(
    dead.port,
    'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    2000,
  );
  t.equal(rawStatus(out), 502);
  t.notMatch(out, /127\.0\.0\.1:1\b/);
});

t.test('h2c (or any non-WebSocket) Upgrade is not tunnelled: forwarded as a plain request without Upgrade', async (t) => {
  const before = ws.handshakes.length;
  const out = await rawRequest(bw.port, 'GET /h2 HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n', 400);
  t.equal(rawStatus(out), 200);
  t.match(out, /plain$/);
  t.equal(ws.handshakes.length, before, 'backend saw no upgrade');
});

t.test('an Upgrade request with a body is refused with 400', async (t) => {
  const before = ws.handshakes.length;
  const out = await rawRequest(bw.port, 'POST /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 5\r\n\r\nhello', 400);
  t.equal(rawStatus(out), 400);
  t.equal(ws.handshakes.length, before);
});
