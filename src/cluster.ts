/** Cluster mode (`workers: auto` or N): the primary forks workers that share the listeners, restarts crashed ones, relays SIGTERM. */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { BulwarkConfig } from './config.ts';

export function workerCount(config: BulwarkConfig): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

/** True in the primary when more than one worker is wanted. Workers themselves run single. */
export function shouldCluster(config: BulwarkConfig): boolean {
  return cluster.isPrimary && workerCount(config) > 1;
}

/** Fork the workers (they re-run the same command line) and supervise them. */
export function runCluster(config: BulwarkConfig): void {
  const n = workerCount(config);
  let stopping = false;
  const log = (msg: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg, ...extra }) + '\n');
  for (let i = 0; i < n; i++) cluster.fork();
  log('bulwark primary started', { workers: n });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log('worker exited; restarting', { worker: worker.process.pid, code, signal });
    setTimeout(() => cluster.fork(), 500).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log('shutting down workers', { signal });
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
