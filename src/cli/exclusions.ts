/** `bulwark exclusions add|list|remove`: scope a signature (id, family:, tag:) out by site, path, target or client CIDR. */
import { Command } from 'commander';
import type { Exclusion } from '../types.ts';
import { changed, runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

const describe = (e: Exclusion) => [
  e.id.padEnd(12), `rule ${e.rule}`, e.site && `site ${e.site}`, e.pathPrefix && `path ${e.pathPrefix}*`, e.pathRegex && `path ~ /${e.pathRegex}/`,
  e.target && `target ${e.target}`, e.cidrs?.length && `cidrs ${e.cidrs.join(',')}`, e.note && `# ${e.note}`,
].filter(Boolean).join('  ');

/** The `exclusions` command group; register with `program.addCommand(exclusionsCommand())`. */
export function exclusionsCommand(io: Io = stdio): Command {
  const ex = withConnection(new Command('exclusions').description('exceptions to signatures, stored with the live rules'));

  ex.command('add').description('add an exclusion: --rule (id, family:NAME, tag:NAME or *) with at least one scope for *')
    .requiredOption('--rule <rule>', 'signature id, family:NAME, tag:NAME or *')
    .option('--site <site>', 'only for this site')
    .option('--path <prefix>', 'only for paths starting with this')
    .option('--path-regex <regex>', 'only for paths matching this regex')
    .option('--target <target>', 'only this target, e.g. args:comment, cookies:session')
    .option('--cidr <cidr...>', 'skip for these client addresses/CIDRs')
    .option('--note <text>', 'why')
    .action(async (o: { rule: string; site?: string; path?: string; pathRegex?: string; target?: string; cidr?: string[]; note?: string }, cmd: Command) => runAction(io, async () => {
      const body = { rule: o.rule, site: o.site, pathPrefix: o.path, pathRegex: o.pathRegex, target: o.target, cidrs: o.cidr, note: o.note };
      io.out(changed(await clientOf(cmd).call('POST', '/exclusions', body)));
    }));

  ex.command('list').description('list exclusions').action(async (_o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ version: number; exclusions: Exclusion[] }>('GET', '/exclusions');
    for (const e of r.exclusions) io.out(describe(e));
    io.out(`${r.exclusions.length} exclusion(s), version ${r.version}`);
  }));

  ex.command('remove <id>').description('remove an exclusion by id').action(async (id: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    io.out(changed(await clientOf(cmd).call('DELETE', `/exclusions/${encodeURIComponent(id)}`)));
  }));

  return ex;
}

/** main.ts registration: `registerExclusions(program)`. */
export function registerExclusions(program: Command): void {
  program.addCommand(exclusionsCommand());
}
