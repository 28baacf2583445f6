/** Start Bulwark for tests: in-process via startBulwark on free loopback ports, or as a CLI subprocess; plus a raw-socket client. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { deepMerge, loadConfig, type BulwarkConfig } from '../../src/config.ts';
import { createLogger, createServices, startBulwark, type Running } from '../../src/index.ts';
import type { Services } from '../../src/services.ts';
import { startBackend, type Backend } from './backend.ts';

/** Config for tests of the proxy alone: inspection and rate limits off (their own tests cover them). */
export const PROXY_ONLY = { mode: 'off', rateLimit: { enabled: false } } as const;

export interface TestBulwark {
  /** http://127.0.0.1:PORT of the proxy. */
  url: string;
  port: number;
  adminUrl: string;
  config: BulwarkConfig;
  running: Running;
  /** The services it runs with (the inspection thread, the live ruleset …). */
  services: Services;
  /** Parsed JSON log lines written so far. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Start Bulwark in this process. `config` is a config object (as in YAML) merged over test defaults
 * (proxy and admin on 127.0.0.1:0, logging at info). `services` adds optional hooks (inspector, events, ...).
 */
export async function startTestBulwark(config: Record<string, unknown> = {}, services: Partial<Services> = {}): Promise<TestBulwark> {
  const cfg = loadConfig({ env: {}, object: deepMerge({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, shutdownTimeoutMs: 3000, events: { file: { path: join(mkdtempSync(join(tmpdir(), 'bulwark-test-events-')), 'events.jsonl') } } }, config) });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger(cfg, sink);
  const base = await createServices(cfg, logger);
  const merged: Services = { ...base, ...services, config: cfg, logger };
  const running = await startBulwark(cfg, { logger, services: merged });
  return {
    url: `http://127.0.0.1:${running.proxyAddress.port}`,
    port: running.proxyAddress.port,
    adminUrl: `http://127.0.0.1:${running.adminAddress.port}`,
    config: cfg,
    running,
    services: merged,
    logs,
    close: () => running.close(),
  };
}

/**
 * For a whole test file: a backend on loopback and a Bulwark in front of it (`config` merged over PROXY_ONLY),
 * started before the file's tests and closed after them. `ready` gets both once they listen.
 */
export function backendBehindBulwark(t: { before(fn: () => Promise<void>): void; teardown(fn: () => Promise<void>): void }, ready: (backend: Backend, bw: TestBulwark) => void, config: Record<string, unknown> = {}): void {
  let backend: Backend | undefined;
  let bw: TestBulwark | undefined;
  t.before(async () => {
    backend = await startBackend();
    bw = await startTestBulwark({ ...PROXY_ONLY, upstream: backend.origin, ...config });
    ready(backend, bw);
  });
  t.teardown(async () => {
    await bw?.close();
    await backend?.close();
  });
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface SpawnedBulwark {
  proc: ChildProcess;
  url: string;
  port: number;
  adminUrl: string;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Run the CLI (`node --import tsx src/cli/main.ts ...args`) and wait for its "bulwark listening" line. */
export async function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

/** Spawn `bulwark start` on free ports (127.0.0.1:0) and wait until it listens. */
export async function spawnBulwark(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<SpawnedBulwark> {
  const args = ['start', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...extraArgs];
  const { proc, out, err, exited } = await spawnCli(args, env);
  const deadline = Date.now() + timeoutMs;
  let line: Record<string, string> | undefined;
  while (!line) {
    const found = out().split('\n').find((l) => l.includes('"bulwark listening"'));
    if (found) line = JSON.parse(found) as Record<string, string>;
    else {
      if (proc.exitCode !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`bulwark did not start: ${err()} ${out()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const port = Number(line.proxy.split(':').pop());
  const adminPort = Number(line.admin.split(':').pop());
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    stdout: out,
    stderr: err,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * Send raw bytes on a fresh socket and collect everything until the server closes it (or `waitMs` passes
 * after the last byte). Use for requests Node's http client refuses to send.
 */
export function rawRequest(port: number, data: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let timer = setTimeout(() => s.destroy(), waitMs);
    s.on('data', (c) => {
      buf += c.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => s.destroy(), waitMs);
    });
    s.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(buf);
    });
    s.write(data);
  });
}

/** Status code of the first response in a raw HTTP answer (0 when none). */
export function rawStatus(response: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}
