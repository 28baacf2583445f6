/** Starts a private redis-server on a free loopback port for a test, and can kill/restart it to prove failure behaviour. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export { freePort };

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestRedis {
  port: number;
  url: string;
  /** SIGKILL the server (simulates a crash). */
  kill(): Promise<void>;
  /** Start it again on the same port (empty dataset). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Start a redis-server from PATH on a free port. Throws with install advice when it is missing. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    const spawned = proc;
    await new Promise<void>((resolve, reject) => {
      spawned.once('error', (err) => reject(new Error(`cannot start redis-server (${err.message}); install it: apt-get install redis-server`)));
      waitForPort(port).then(resolve, reject);
    });
  };
  const kill = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((res) => { p.once('exit', () => res()); p.kill('SIGKILL'); });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, stop: kill };
}
