/** A real counting echo backend on a free loopback port: records every request it receives (method, raw target, headers, body bytes). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  /** Request target exactly as it arrived. */
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface Backend {
  origin: string;
  port: number;
  /** Everything received, in order. */
  received: Received[];
  /** Number of requests received. */
  readonly count: number;
  /** Replace the handler (default: JSON echo of method, url, headers, body as base64). */
  handle(h: BackendHandler | null): void;
  server: Server;
  close(): Promise<void>;
}

export const echo: BackendHandler = (req, res, body) => {
  const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('base64') });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), server: 'gunicorn/21.2.0', 'x-powered-by': 'Django' });
  res.end(out);
};

/** Start the backend on 127.0.0.1 (port 0 = a free port). */
export async function startBackend(handler: BackendHandler | null = null, port = 0): Promise<Backend> {
  const received: Received[] = [];
  let h: BackendHandler = handler ?? echo;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
      h(req, res, body);
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const p = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${p}`,
    port: p,
    received,
    get count() {
      return received.length;
    },
    handle(next) {
      h = next ?? echo;
    },
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
