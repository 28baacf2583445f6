/** `bulwark start`: load and validate the config, then run the proxy (in cluster mode when `workers` > 1) until SIGTERM. */
import type { Command } from 'commander';
import { ConfigError, loadConfig, type BulwarkConfig } from '../config.ts';
import { runCluster, shouldCluster } from '../cluster.ts';
import { startBulwark } from '../index.ts';

export interface StartFlags {
  listen?: string;
  upstream?: string;
  admin?: string;
  mode?: string;
  config?: string;
  workers?: string;
}

/** CLI flags → config overrides (validated by the schema like every other source). */
export function flagsToOverrides(f: StartFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (f.listen) o.listen = f.listen;
  if (f.upstream) o.upstream = f.upstream;
  if (f.mode) o.mode = f.mode;
  if (f.admin) o.admin = { listen: f.admin };
  if (f.workers) o.workers = f.workers === 'auto' ? 'auto' : /^\d+$/.test(f.workers) ? Number(f.workers) : f.workers;
  return o;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the proxy in the foreground (defaults: listen 0.0.0.0:8080 → upstream http://127.0.0.1:8000, admin 127.0.0.1:9090)')
    .option('--listen <host:port>', 'proxy listener')
    .option('--upstream <url>', 'upstream origin of the default site')
    .option('--admin <host:port>', 'admin listener (/healthz, /readyz, admin API)')
    .option('--mode <mode>', 'block | detect | off')
    .option('--workers <n>', 'worker processes: a number or "auto"')
    .option('--config <file>', 'YAML config file (or env BULWARK_CONFIG)')
    .action(async (flags: StartFlags) => {
      let config: BulwarkConfig;
      try {
        config = loadConfig({ file: flags.config, overrides: flagsToOverrides(flags) });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`bulwark: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
      if (shouldCluster(config)) {
        runCluster(config);
        return;
      }
      await runSingle(config);
    });
}

/** Run one process: start, then stop gracefully on SIGTERM/SIGINT (a second signal exits at once). */
export async function runSingle(config: BulwarkConfig): Promise<void> {
  let running;
  try {
    running = await startBulwark(config);
  } catch (e) {
    process.stderr.write(`bulwark: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    running.services.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running.close().then(
      () => process.exit(0),
      (e) => {
        running.services.logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
