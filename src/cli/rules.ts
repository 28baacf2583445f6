/** `bulwark rules ...`: push/diff the signatures/ library, list/show, disable/enable/set, history and rollback, via the admin API. */
import { statSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { readSignatureFiles } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';
import { AdminApiError, AdminClient, changed, runAction, stdio, type Io } from './admin-client.ts';

/** Read every signatures/*.yaml file (not profiles/) with the loader's schema checks; throws naming each bad file/entry. */
export function readLibrary(dir: string): SignatureSpec[] {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new AdminApiError(`cannot read signature directory ${dir}: ${(err as Error).message}`, 0, 'WAF_ERR_CLI_USAGE');
  }
  const read = readSignatureFiles(dir);
  if (read.problems.length) {
    const problems = read.problems.map((p) => `${p.file}: ${p.message}`);
    throw new AdminApiError(`${dir} refused, nothing sent: ${problems.length} problem(s)`, 0, 'WAF_ERR_SIGNATURE_INVALID', problems);
  }
  if (read.signatures.length === 0) throw new AdminApiError(`no signatures in ${dir}`, 0, 'WAF_ERR_CLI_USAGE');
  return read.signatures;
}

const intArg = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}-${max}`);
  return n;
};
const idArg = intArg('ID', 1, Number.MAX_SAFE_INTEGER);

interface RuleView { id: number; name: string; family: string; paranoia: number; severity: string; enabled: boolean; overridden: boolean }
interface ChangeResult { version: number; previous: number; detail: string }
interface Diff { added: number[]; removed: number[]; changed: number[] }

/** Adds `--admin` and `--token` to a command group. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--admin <url>', 'admin API base URL (default http://127.0.0.1:9090, or BULWARK_ADMIN_URL)')
    .option('--token <token>', 'admin bearer token (or BULWARK_ADMIN_TOKEN)');
}

export const clientOf = (cmd: Command) => new AdminClient(cmd.optsWithGlobals() as { admin?: string; token?: string });

/** The `rules` command group; register with `program.addCommand(rulesCommand())`. */
export function rulesCommand(io: Io = stdio): Command {
  const rules = withConnection(new Command('rules').description('inspect and change the live signature set (through the admin API)'));

  rules.command('list').description('list signatures as they run (overrides applied)')
    .option('--family <family>', 'only this family (sqli, xss, rce, ...)')
    .option('--pl <n>', 'only this paranoia level', intArg('--pl', 1, 4))
    .action(async (o: { family?: string; pl?: number }, cmd: Command) => runAction(io, async () => {
      const q = new URLSearchParams();
      if (o.family) q.set('family', o.family);
      if (o.pl) q.set('pl', String(o.pl));
      const r = await clientOf(cmd).call<{ version: number; rules: RuleView[] }>('GET', `/rules${q.size ? `?${q}` : ''}`);
      for (const x of r.rules) io.out(`${x.id}  ${x.family.padEnd(20)} PL${x.paranoia}  ${x.severity.padEnd(8)} ${x.enabled ? 'on ' : 'OFF'}${x.overridden ? '*' : ' '} ${x.name}`);
      io.out(`${r.rules.length} signature(s), version ${r.version}${r.rules.some((x) => x.overridden) ? ' (* = overridden)' : ''}`);
    }));

  rules.command('show <id>').description('show one signature, its override and exclusions').action(async (id: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ version: number; rule: RuleView; override: unknown; spec: SignatureSpec; exclusions: unknown[] }>('GET', `/rules/${idArg(id)}`);
    const s = r.spec;
    io.out(`${s.id} ${s.name}`);
    io.out(`  family ${s.family}, paranoia ${r.rule.paranoia}, severity ${r.rule.severity}, ${r.rule.enabled ? 'enabled' : 'DISABLED'}${r.override ? ` (override ${JSON.stringify(r.override)})` : ''}`);
    io.out(`  targets ${s.targets.join(', ')}; transforms ${s.transforms.join(', ') || '-'}; operator ${s.operator} ${JSON.stringify(s.pattern ?? '')}`);
    if (s.tags?.length) io.out(`  tags ${s.tags.join(', ')}`);
    if (s.description) io.out(`  ${s.description.trim()}`);
    for (const e of r.exclusions) io.out(`  exclusion ${JSON.stringify(e)}`);
    io.out(`version ${r.version}`);
  }));

  for (const verb of ['disable', 'enable'] as const) {
    rules.command(`${verb} <id>`).description(`${verb} one signature everywhere`).action(async (id: string, _o: unknown, cmd: Command) => runAction(io, async () => {
      io.out(changed(await clientOf(cmd).call<ChangeResult>('POST', `/rules/${idArg(id)}/${verb}`)));
    }));
  }

  rules.command('set <id>').description('change a signature\'s paranoia level and/or severity')
    .option('--paranoia <n>', 'paranoia level 1-4', intArg('--paranoia', 1, 4))
    .option('--severity <s>', 'critical | error | warning | notice')
    .action(async (id: string, o: { paranoia?: number; severity?: string }, cmd: Command) => runAction(io, async () => {
      if (o.paranoia === undefined && o.severity === undefined) throw new AdminApiError('give --paranoia N and/or --severity S', 0, 'WAF_ERR_CLI_USAGE');
      io.out(changed(await clientOf(cmd).call<ChangeResult>('PATCH', `/rules/${idArg(id)}`, { paranoia: o.paranoia, severity: o.severity })));
    }));

  rules.command('push [dir]').description('validate and upload a signatures/ directory as the new live library (refused whole if any entry fails)')
    .action(async (dir: string | undefined, _o: unknown, cmd: Command) => runAction(io, async () => {
      const specs = readLibrary(dir ?? 'signatures');
      io.out(changed(await clientOf(cmd).call<ChangeResult>('PUT', '/rules/library', { signatures: specs })));
    }));

  rules.command('diff [dir]').description('compare a signatures/ directory with the live library (changes nothing)')
    .action(async (dir: string | undefined, _o: unknown, cmd: Command) => runAction(io, async () => {
      const specs = readLibrary(dir ?? 'signatures');
      const r = await clientOf(cmd).call<{ version: number; diff: Diff }>('POST', '/rules/library/diff', { signatures: specs });
      const byId = new Map(specs.map((s) => [s.id, s.name]));
      for (const id of r.diff.added) io.out(`+ ${id} ${byId.get(id) ?? ''}`);
      for (const id of r.diff.removed) io.out(`- ${id}`);
      for (const id of r.diff.changed) io.out(`~ ${id} ${byId.get(id) ?? ''}`);
      io.out(`${r.diff.added.length} added, ${r.diff.removed.length} removed, ${r.diff.changed.length} changed vs live version ${r.version}`);
    }));

  rules.command('history').description('who changed what and when').option('--limit <n>', 'entries', intArg('--limit', 1, 1000), 20)
    .action(async (o: { limit: number }, cmd: Command) => runAction(io, async () => {
      const r = await clientOf(cmd).call<{ history: Array<{ version: number; at: string; author: string; action: string; detail: string }> }>('GET', `/rules/history?limit=${o.limit}`);
      for (const h of r.history) io.out(`v${h.version}  ${h.at}  ${h.author}  ${h.action}  ${h.detail}`);
      if (!r.history.length) io.out('no changes recorded');
    }));

  rules.command('rollback [version]').description('make an earlier version\'s content live again (as a new version); default: the previous one')
    .action(async (version: string | undefined, _o: unknown, cmd: Command) => runAction(io, async () => {
      const body = version === undefined ? {} : { version: idArg(version) };
      io.out(changed(await clientOf(cmd).call<ChangeResult>('POST', '/rules/rollback', body)));
    }));

  rules.command('status').description('live version and store reachability').action(async (_o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ version: number; store: string; storeReachable: boolean; lastError: string | null }>('GET', '/rules/status');
    io.out(`version ${r.version}, store ${r.store} ${r.storeReachable ? 'reachable' : 'UNREACHABLE'}${r.lastError ? `, last error: ${r.lastError}` : ''}`);
  }));

  return rules;
}

/** main.ts registration: `registerRules(program)`. */
export function registerRules(program: Command): void {
  program.addCommand(rulesCommand());
}
