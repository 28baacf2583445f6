/**
 * `bulwark ratelimit list|set|remove`: the rate-limit policies kept with the live rules (every instance follows them).
 * `set NAME` adds the policy or replaces the one of that name as a whole; bad input changes nothing and says why.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { RatePolicy } from '../types.ts';
import { describePolicy } from '../store/rate-policy-changes.ts';
import { changed, runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

const number = (name: string, integer: boolean) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'} (got ${v})`);
  }
  return n;
};

/** `ip`, `header:NAME`, `cookie:NAME`, `field:NAME` (counted per field value and client IP) or `field-only:NAME`. */
export function parseKey(v: string): RatePolicy['key'] {
  if (v === 'ip') return 'ip';
  const m = /^(header|cookie|field|field-only):(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`key must be ip, header:NAME, cookie:NAME, field:NAME or field-only:NAME (got ${v})`);
  if (m[1] === 'header') return { header: m[2] };
  if (m[1] === 'cookie') return { cookie: m[2] };
  return m[1] === 'field' ? { field: m[2] } : { field: m[2], withIp: false };
}

interface SetOptions {
  points: number; duration: number; key?: RatePolicy['key']; burst?: number; block?: number;
  site?: string; path?: string; pathRegex?: string; methods?: string;
}

export function ratelimitCommand(io: Io = stdio): Command {
  const rl = withConnection(new Command('ratelimit').description('rate-limit policies stored with the live rules (followed by every instance)'));

  rl.command('list').description('list the policies in force').action(async (_o: unknown, cmd: Command) => runAction(io, async () => {
    const r = await clientOf(cmd).call<{ version: number; policies: RatePolicy[] }>('GET', '/ratelimit/policies');
    for (const p of r.policies) io.out(describePolicy(p));
    io.out(`${r.policies.length} polic${r.policies.length === 1 ? 'y' : 'ies'}, version ${r.version}`);
  }));

  rl.command('set <name>').description('add the policy NAME, or replace it as a whole')
    .requiredOption('--points <n>', 'requests allowed per window', number('--points', true))
    .requiredOption('--duration <sec>', 'window length in seconds', number('--duration', false))
    .option('--key <key>', 'what is counted: ip (default), header:NAME, cookie:NAME, field:NAME, field-only:NAME', parseKey)
    .option('--burst <n>', 'extra requests allowed over a 10x longer window', number('--burst', true))
    .option('--block <sec>', 'refuse a client this long once over the limit (escalates on repeat)', number('--block', false))
    .option('--site <site>', 'only requests of this site')
    .option('--path <prefix>', 'only paths starting with this')
    .option('--path-regex <regex>', 'only paths matching this regex')
    .option('--methods <list>', 'only these methods, comma separated (e.g. POST,PUT)')
    .action(async (name: string, o: SetOptions, cmd: Command) => runAction(io, async () => {
      const body: Record<string, unknown> = {
        points: o.points, durationSec: o.duration, key: o.key ?? 'ip', burst: o.burst, blockSec: o.block,
        site: o.site, pathPrefix: o.path, pathRegex: o.pathRegex, methods: o.methods?.split(',').map((m) => m.trim()).filter(Boolean),
      };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      io.out(changed(await clientOf(cmd).call('PUT', `/ratelimit/policies/${encodeURIComponent(name)}`, body)));
    }));

  rl.command('remove <name>').description('remove the policy NAME').action(async (name: string, _o: unknown, cmd: Command) => runAction(io, async () => {
    io.out(changed(await clientOf(cmd).call('DELETE', `/ratelimit/policies/${encodeURIComponent(name)}`)));
  }));

  return rl;
}

/** main.ts registration: `registerRatelimit(program)`. */
export function registerRatelimit(program: Command): void {
  program.addCommand(ratelimitCommand());
}
