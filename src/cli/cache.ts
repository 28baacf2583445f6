/** `bulwark cache purge PATH`: drop every cached response for a path through the admin API. */
import { Command } from 'commander';
import { AdminApiError, runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

export function cacheCommand(io: Io = stdio): Command {
  const cache = withConnection(new Command('cache').description('response cache'));
  cache.command('purge <path>').description('remove cached responses for PATH (every host, query and variant)')
    .action(async (path: string, _o: unknown, cmd: Command) => runAction(io, async () => {
      if (!path.startsWith('/')) throw new AdminApiError(`path must start with "/" (got ${path})`, 0, 'WAF_ERR_CLI_USAGE');
      const r = await clientOf(cmd).call<{ purged: number }>('DELETE', `/cache?path=${encodeURIComponent(path)}`);
      io.out(`purged ${r.purged} cached entr${r.purged === 1 ? 'y' : 'ies'} for ${path}`);
    }));
  return cache;
}

/** main.ts registration: `registerCache(program)`. */
export function registerCache(program: Command): void {
  program.addCommand(cacheCommand());
}
