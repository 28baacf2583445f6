/** `bulwark bans list|add|remove` and `bulwark allow add|remove`: bans and the allow-list, through the admin API. */
import { Command } from 'commander';
import { AdminApiError, runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

interface BanView { ip: string; until: string; reason: string; by?: string }

export function bansCommand(io: Io = stdio): Command {
  const bans = withConnection(new Command('bans').description('ban or unban client addresses (shared by every instance)'));
  bans.command('list').description('active bans and the allow-list').action(async (_o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ bans: BanView[]; allow: string[]; degraded: boolean }>('GET', '/bans');
    for (const b of r.bans) io.out(`${b.ip}  until ${b.until}  ${b.reason}${b.by ? ` (by ${b.by})` : ''}`);
    io.out(`${r.bans.length} active ban(s); allow-list: ${r.allow.length ? r.allow.join(', ') : '(empty)'}${r.degraded ? '; WARNING: Redis unreachable, bans are per instance' : ''}`);
  }));
  bans.command('add <ip>').description('ban an address').option('--seconds <n>', 'ban length', '3600').option('--reason <text>', 'why', 'manual')
    .action(async (ip: string, o: { seconds: string; reason: string }, cmd: Command) => runAction(io, async () => {
      const seconds = Number(o.seconds);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new AdminApiError(`--seconds must be a positive number (got ${o.seconds})`, 0, 'WAF_ERR_CLI_USAGE');
      const r = await clientOf(cmd).call<{ detail: string }>('POST', '/bans', { ip, seconds, reason: o.reason });
      io.out(r.detail);
    }));
  bans.command('remove <ip>').description('lift a ban and reset the address\'s counters').action(async (ip: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ detail: string }>('DELETE', `/bans/${encodeURIComponent(ip)}`);
    io.out(r.detail);
  }));
  return bans;
}

export function allowCommand(io: Io = stdio): Command {
  const allow = withConnection(new Command('allow').description('allow-list: addresses never rate-limited or banned'));
  allow.command('add <cidr>').action(async (cidr: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    io.out((await clientOf(cmd).call<{ detail: string }>('POST', '/allow', { cidr })).detail);
  }));
  allow.command('remove <cidr>').action(async (cidr: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    io.out((await clientOf(cmd).call<{ detail: string }>('DELETE', `/allow?cidr=${encodeURIComponent(cidr)}`)).detail);
  }));
  return allow;
}

/** main.ts registration. */
export function registerBans(program: Command): void {
  program.addCommand(bansCommand());
  program.addCommand(allowCommand());
}
