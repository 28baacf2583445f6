/** Loopback ports for tests that start servers: reserved ones for servers, refusing ones for "backend down". */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Test files run in parallel, each in its own process. A port taken from `listen(0)` and closed again is back in the
 * ephemeral range (32768-60999 here) at once, and any other process's `listen(0)` or outgoing connection may take it
 * before our server binds it, or while a test has killed its Redis to restart it on the same port. Ports for servers
 * are therefore drawn below that range, and reserved for the whole test process by a lock file every test process
 * honours; deadPort() draws from another range below that, so a killed server's port is never handed out as "dead".
 */
const SERVER_PORTS = { from: 30_000, to: 32_767 };
const DEAD_PORTS = { from: 20_000, to: 29_999 };
const LOCKS = join(tmpdir(), 'bulwark-test-ports');
const held: string[] = [];
let cleanupInstalled = false;

/** A loopback port nothing listens on, reserved for this process until it exits (no other test file gets it). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = pick(SERVER_PORTS);
    if (!reserve(port)) continue;
    if (await bindable(port)) return port;
    release(port);
  }
  throw new Error(`no free port found in ${SERVER_PORTS.from}-${SERVER_PORTS.to}`);
}

/** A loopback port where nothing listens, for a "backend down" test; checked to refuse connections. */
export async function deadPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = pick(DEAD_PORTS);
    if (await refuses(port)) return port;
  }
  throw new Error(`no refusing port found in ${DEAD_PORTS.from}-${DEAD_PORTS.to}`);
}

function pick(range: { from: number; to: number }): number {
  return range.from + Math.floor(Math.random() * (range.to - range.from + 1));
}

/** Take the port's lock file; a lock left by a process that no longer runs is taken over. */
function reserve(port: number): boolean {
  mkdirSync(LOCKS, { recursive: true });
  const file = join(LOCKS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    if (alive(Number(readOr(file)))) return false;
    try { unlinkSync(file); writeFileSync(file, String(process.pid), { flag: 'wx' }); } catch { return false; }
  }
  held.push(file);
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => { for (const f of held) try { unlinkSync(f); } catch { /* already gone */ } });
  }
  return true;
}

function release(port: number): void {
  const file = join(LOCKS, String(port));
  const i = held.indexOf(file);
  if (i >= 0) held.splice(i, 1);
  try { unlinkSync(file); } catch { /* already gone */ }
}

function readOr(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
