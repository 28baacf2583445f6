// WebSocket per-message inspection (off by default) with a real echo backend: benign text (also fragmented, with a
// ping in between) and binary messages echo; an attack message closes with 1008 before reaching the backend and is an
// event; messages over the cap close with 1009 or pass per config; WebSocket on a pool uses the balancer.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import t from 'tap';
import { PROXY_ONLY, startTestBulwark } from '../helpers/bulwark.ts';
import { ClientFrameFilter, closeFrame } from '../../src/proxy/ws-frames.ts';
import { messageView } from '../../src/proxy/ws-inspect.ts';

interface Frame { fin: boolean; opcode: number; payload: Buffer }

/** Parse complete frames from `buf` (masked or not); returns them and the unconsumed rest. */
function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  for (;;) {
    if (buf.length < 2) break;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    const masked = (buf[1] & 0x80) !== 0;
    const keyAt = off;
    if (masked) off += 4;
    if (buf.length < off + len) break;
    const payload = Buffer.from(buf.subarray(off, off + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[keyAt + (i & 3)];
    frames.push({ fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, payload });
    buf = buf.subarray(off + len);
  }
  return { frames, rest: buf };
}

/** A frame as a client sends it (masked). */
function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const p = Buffer.from(payload);
  const head = p.length < 126 ? Buffer.from([0, 0x80 | p.length]) : p.length < 65536 ? Buffer.from([0, 0x80 | 126, p.length >> 8, p.length & 255]) : Buffer.concat([Buffer.from([0, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(p.length)); return b; })()]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, Buffer.from(p.map((b, i) => b ^ key[i & 3]))]);
}

/** Echo backend: reassembles messages, echoes each as one frame, answers pings; records messages and handshakes. */
async function echoBackend(name: string) {
  const messages: string[] = [];
  let handshakes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_q, r) => r.end('plain'));
  server.on('upgrade', (req, socket: Socket) => {
    handshakes++;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo: ${name}\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let buf: Buffer = Buffer.alloc(0);
    let parts: Buffer[] = [];
    let op = 0;
    socket.on('data', (c: Buffer) => {
      const r = parseFrames(Buffer.concat([buf, c]));
      buf = r.rest;
      for (const f of r.frames) {
        if (f.opcode === 8) { socket.end(closeFrame(1000)); return; }
        if (f.opcode === 9) { socket.write(Buffer.concat([Buffer.from([0x8a, f.payload.length]), f.payload])); continue; }
        if (f.opcode !== 0) op = f.opcode;
        parts.push(f.payload);
        if (!f.fin) continue;
        const msg = Buffer.concat(parts);
        parts = [];
        messages.push(op === 1 ? msg.toString('utf8') : `<binary ${msg.length}>`);
        const head = msg.length < 126 ? Buffer.from([0x80 | op, msg.length]) : msg.length < 65536 ? Buffer.from([0x80 | op, 126, msg.length >> 8, msg.length & 255]) : Buffer.concat([Buffer.from([0x80 | op, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(msg.length)); return b; })()]);
        socket.write(Buffer.concat([head, msg]));
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    get handshakes() { return handshakes; },
    close: () => new Promise<void>((res) => { for (const s of sockets) s.destroy(); server.closeAllConnections(); server.close(() => res()); }),
  };
}

/** A raw WebSocket client: handshake, then send frames and wait for frames or the close. */
async function wsClient(port: number, path = '/ws', extraHeaders = '') {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extraHeaders}\r\n`);
  let buf: Buffer = Buffer.alloc(0);
  let head = '';
  const frames: Frame[] = [];
  let cursor = 0;
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    if (!head) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      head = buf.subarray(0, i).toString('latin1');
      buf = buf.subarray(i + 4);
    }
    const r = parseFrames(buf);
    buf = r.rest;
    frames.push(...r.frames);
    wake();
  });
  sock.on('close', () => { ended = true; wake(); });
  sock.on('error', () => undefined);
  const until = async (cond: () => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!cond() && Date.now() < deadline) await new Promise<void>((res) => { waiters.push(res); setTimeout(res, 200); });
  };
  await until(() => head !== '' || ended);
  return {
    head: () => head,
    frames,
    send: (b: Buffer) => sock.write(b),
    next: async (): Promise<Frame | null> => { await until(() => frames.length > cursor || ended); return frames[cursor] ? frames[cursor++] : null; },
    closed: async () => { await until(() => ended); return ended; },
    destroy: () => sock.destroy(),
  };
}

const ATTACK = "1' UNION SELECT username, password FROM auth_user--";

t.test('message view: text is one args target, JSON leaves are args', async (t) => {
  t.same(messageView('hello').byCollection.get('args')!.map((x) => x.name), ['args:ws_message']);
  const v = messageView('{"op":"search","q":"abc"}');
  t.ok(v.byCollection.get('args')!.some((x) => x.value === 'abc'));
  t.notOk(v.byCollection.has('path'), 'no request-line targets');
  t.same(messageView('{not json').byCollection.get('args')!.map((x) => x.value), ['{not json'], 'text that only looks like JSON is text');
});

t.test('frame filter: holds fragments, forwards control frames at once, caps size', async (t) => {
  const out: Buffer[] = [];
  const closes: number[] = [];
  const seen: string[] = [];
  const f = new ClientFrameFilter({ maxBytes: 10, oversize: 'close', check: (s) => (seen.push(s), 'forward'), forward: (b) => out.push(b), close: (c) => closes.push(c) });
  const a = frame(1, 'hel', false);
  const ping = frame(9, 'p');
  const b = frame(0, 'lo', true);
  const all = Buffer.concat([a, ping, b]);
  for (const byte of all) f.push(Buffer.from([byte])); // one byte at a time
  t.same(seen, ['hello']);
  t.same(Buffer.concat(out), Buffer.concat([ping, a, b]), 'ping first, then the held message, bytes unchanged');
  f.push(frame(1, 'x'.repeat(11)));
  t.same(closes, [1009]);
});

t.test('through Bulwark', async (t) => {
  const one = await echoBackend('one');
  const two = await echoBackend('two');
  const base = { ...PROXY_ONLY, mode: 'block' };
  const inspected = await startTestBulwark({
    ...base,
    proxy: { websocketInspection: { enabled: true, maxBytes: 1024 } },
    sites: [
      { name: 'chat', hosts: ['ws.test'], upstream: one.origin },
      { name: 'pool', hosts: ['pool.test'], upstreams: [{ url: one.origin }, { url: two.origin }] },
    ],
  });
  const passing = await startTestBulwark({ ...base, proxy: { websocketInspection: { enabled: true, maxBytes: 1024, oversize: 'pass' } }, sites: [{ name: 'chat', hosts: ['ws.test'], upstream: one.origin }] });
  const off = await startTestBulwark({ ...base, sites: [{ name: 'chat', hosts: ['ws.test'], upstream: one.origin }] });
  t.teardown(async () => {
    for (const b of [inspected, passing, off]) await b.close();
    await one.close();
    await two.close();
  });

  t.test('benign text, fragmented text with a ping, binary and JSON messages echo', async (t) => {
    const c = await wsClient(inspected.port, '/ws', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    t.match(c.head(), /^HTTP\/1\.1 101/);
    c.send(frame(1, 'hello there'));
    t.equal((await c.next())?.payload.toString(), 'hello there');
    c.send(Buffer.concat([frame(1, 'frag', false), frame(9, 'ping!'), frame(0, 'mented', true)]));
    const pong = await c.next();
    t.equal(pong?.opcode, 10, 'the ping went through while the message was held');
    t.equal((await c.next())?.payload.toString(), 'fragmented');
    c.send(frame(2, Buffer.from("' OR 1=1--")));
    t.equal((await c.next())?.opcode, 2, 'binary is not inspected');
    c.send(frame(1, JSON.stringify({ op: 'search', q: 'union station timetable' })));
    t.match((await c.next())?.payload.toString(), /union station/);
    c.destroy();
  });

  t.test('an attack message closes with 1008, never reaches the backend, and is an event', async (t) => {
    const c = await wsClient(inspected.port);
    c.send(frame(1, 'fine'));
    await c.next();
    const before = one.messages.length;
    c.send(frame(1, ATTACK));
    const close = await c.next();
    t.equal(close?.opcode, 8);
    t.equal(close?.payload.readUInt16BE(0), 1008);
    const reason = close!.payload.subarray(2).toString();
    t.match(reason, /^blocked, event \S+/);
    t.ok(await c.closed(), 'connection closed');
    t.equal(one.messages.length, before, 'the backend never got it');
    t.notOk(one.messages.includes(ATTACK));
    const id = reason.replace('blocked, event ', '');
    let e: { action?: string; matches?: Array<{ target: string }> } = {};
    for (let i = 0; i < 200 && !e.action; i++) {
      const r = await fetch(`${inspected.adminUrl}/api/events/${id}`);
      if (r.status === 200) e = (await r.json()) as typeof e;
      else await new Promise((res) => setTimeout(res, 50));
    }
    t.equal(e.action, 'block');
    t.ok(e.matches!.some((m) => m.target === 'args:ws_message'), JSON.stringify(e.matches));
  });

  t.test('over the cap: 1009 by default, forwarded with oversize: pass; inspection off passes everything', async (t) => {
    const big = 'a'.repeat(2000);
    const c = await wsClient(inspected.port);
    c.send(frame(1, big));
    const close = await c.next();
    t.equal(close?.payload.readUInt16BE(0), 1009);
    const p = await wsClient(passing.port);
    p.send(frame(1, big));
    t.equal((await p.next())?.payload.length, 2000);
    p.send(frame(1, ATTACK));
    t.equal((await p.next())?.payload.readUInt16BE(0), 1008, 'small messages still inspected');
    const o = await wsClient(off.port);
    o.send(frame(1, ATTACK));
    t.equal((await o.next())?.payload.toString(), ATTACK, 'off by default');
    o.destroy();
  });

  t.test('WebSocket on a pool uses the balancer', async (t) => {
    const before = [one.handshakes, two.handshakes];
    const poolHeads: string[] = [];
    for (let i = 0; i < 4; i++) {
      const sock = await wsClientHost(inspected.port, 'pool.test');
      poolHeads.push(sock);
    }
    t.equal(poolHeads.filter((h) => /x-echo: one/i.test(h)).length, 2, 'two on one');
    t.equal(poolHeads.filter((h) => /x-echo: two/i.test(h)).length, 2, 'two on two');
    t.ok(one.handshakes - before[0] === 2 && two.handshakes - before[1] === 2, 'each backend got two handshakes');
  });
});

/** Handshake against a given Host; returns the response head. */
async function wsClientHost(port: number, host: string): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  sock.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  let buf = '';
  await new Promise<void>((res) => {
    sock.on('data', (c: Buffer) => { buf += c.toString('latin1'); if (buf.includes('\r\n\r\n')) res(); });
    sock.on('close', () => res());
    setTimeout(res, 20_000);
  });
  sock.destroy();
  return buf;
}
