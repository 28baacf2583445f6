/** `bulwark mode set SITE block|detect|off` and `mode list`: per-site mode stored with the live rules. */
import { Command } from 'commander';
import { AdminApiError, changed, runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

/** The `mode` command group; register with `program.addCommand(modeCommand())`. */
export function modeCommand(io: Io = stdio): Command {
  const mode = withConnection(new Command('mode').description('per-site mode: block, detect (log only) or off'));

  mode.command('set <site> <mode>').description('set a site\'s mode (use "default" for the default site)')
    .action(async (site: string, m: string, _o: unknown, cmd: Command) => runAction(io, async () => {
      if (!['block', 'detect', 'off'].includes(m)) throw new AdminApiError(`mode must be block, detect or off (got ${m})`, 0, 'WAF_ERR_CLI_USAGE');
      io.out(changed(await clientOf(cmd).call('PUT', `/modes/${encodeURIComponent(site)}`, { mode: m })));
    }));

  mode.command('list').description('site modes set through the store').action(async (_o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ version: number; modes: Record<string, string> }>('GET', '/modes');
    for (const [site, m] of Object.entries(r.modes)) io.out(`${site}  ${m}`);
    io.out(`${Object.keys(r.modes).length} site mode(s) set, version ${r.version}; other sites use the config file`);
  }));

  return mode;
}

/** main.ts registration: `registerMode(program)`. */
export function registerMode(program: Command): void {
  program.addCommand(modeCommand());
}
