/** `bulwark events [filters] [--follow] [--json]`, `bulwark events show ID`, `bulwark events top`: read events through the admin API. */
import { Command, InvalidArgumentError } from 'commander';
import type { WafEvent } from '../types.ts';
import { parseTime } from '../log/query.ts';
import { runAction, stdio, type Io } from './admin-client.ts';
import { clientOf, withConnection } from './rules.ts';

interface ListOpts { since?: string; until?: string; rule?: string; ip?: string; path?: string; site?: string; action?: string; family?: string; text?: string; limit?: string; follow?: boolean; json?: boolean; interval?: string }

const timeArg = (v: string) => {
  if (parseTime(v) === null) throw new InvalidArgumentError('expected a duration back from now (15m, 1h, 7d), an ISO date or epoch ms');
  return v;
};
const intArg = (v: string) => {
  if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('expected a positive integer');
  return v;
};

/** One line per event, for people. */
export function eventLine(e: WafEvent): string {
  const sigs = e.matches.map((m) => m.id).join(',') || (e.policy ? `policy:${e.policy}` : '-');
  return [e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.action.padEnd(10), e.site, e.clientIp, `${e.method} ${e.url}`, sigs, `score ${e.score}`, e.id].join('  ');
}

/** Every detail of one event, for people. */
export function eventDetail(e: WafEvent): string {
  const out = [
    `event     ${e.id}`, `time      ${e.time}`, `action    ${e.action} (mode ${e.mode})`, `site      ${e.site}${e.route ? ` route ${e.route}` : ''}`,
    `request   ${e.method} ${e.url}`, `client    ${e.clientIp} (peer ${e.peer})`, `score     ${e.score} at paranoia ${e.paranoia}, ruleset v${e.rulesetVersion}`,
  ];
  if (e.policy) out.push(`policy    ${e.policy}`);
  if (e.backendStatus !== undefined) out.push(`backend   ${e.backendStatus}`);
  for (const m of e.matches) out.push(`match     ${m.id} ${m.name} [${m.family}, ${m.severity}, PL${m.paranoia}, +${m.score}] in ${m.target}`, `          matched ${JSON.stringify(m.matched)} in ${JSON.stringify(m.value)}`);
  for (const f of e.findings ?? []) out.push(`finding   ${f.code}: ${f.message}`);
  for (const [k, v] of Object.entries(e.headers)) out.push(`header    ${k}: ${v}`);
  return out.join('\n');
}

function query(o: ListOpts, since?: string): string {
  const p = new URLSearchParams();
  const put = (k: string, v?: string) => { if (v) p.set(k, v); };
  put('since', since ?? o.since ?? '1h'); put('until', o.until); put('rule', o.rule); put('ip', o.ip); put('path', o.path); put('site', o.site);
  put('action', o.action); put('family', o.family); put('q', o.text); put('limit', o.limit ?? '100');
  return p.toString();
}

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));

export function eventsCommand(io: Io = stdio): Command {
  const ev = withConnection(new Command('events').description('blocked, detected and rate-limited requests (through the admin API)'))
    .option('--since <when>', 'from this long ago or this time (15m, 1h, 7d, ISO date; default 1h)', timeArg)
    .option('--until <when>', 'up to this time', timeArg)
    .option('--rule <id>', 'only events where this signature matched', intArg)
    .option('--ip <addr>', 'only this client IP')
    .option('--path <prefix>', 'only paths starting with this')
    .option('--site <name>', 'only this site')
    .option('--action <action>', 'block | detect | rate-limit | ban')
    .option('--family <name>', 'only events with a match of this family (sqli, xss, ...)')
    .option('--text <text>', 'free text anywhere in the event')
    .option('--limit <n>', 'at most this many (default 100)', intArg)
    .option('--follow', 'keep printing new events (Ctrl-C to stop)')
    .option('--interval <ms>', 'poll interval for --follow', intArg, '1000')
    .option('--json', 'one JSON object per line')
    .action(async (o: ListOpts, cmd: Command) => runAction(io, async () => {
      const client = clientOf(cmd);
      const print = (e: WafEvent) => io.out(o.json ? JSON.stringify(e) : eventLine(e));
      const first = await client.call<{ events: WafEvent[]; source: string }>('GET', `/events?${query(o)}`);
      const seen = new Set<string>();
      for (const e of [...first.events].reverse()) { seen.add(e.id); print(e); }
      if (!o.json && !o.follow) io.err(`${first.events.length} event(s)${first.source === 'local' ? ' (one instance only: the shared Redis stream is not reachable)' : ''}`);
      if (!o.follow) return;
      let stop = false;
      const onSig = () => { stop = true; };
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      let since = first.events[0]?.time ?? new Date(Date.now() - 1000).toISOString();
      while (!stop) {
        await new Promise((r) => setTimeout(r, Number(o.interval ?? 1000)));
        if (stop) break;
        const r = await client.call<{ events: WafEvent[] }>('GET', `/events?${query({ ...o, limit: '1000' }, since)}`);
        for (const e of [...r.events].reverse()) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
          print(e);
          if (e.time > since) since = e.time;
        }
        if (seen.size > 100_000) seen.clear();
      }
    }));

  withConnection(ev.command('show <id>').description('one event with every detail')).option('--json', 'as JSON')
    .action(async (id: string, _o: unknown, cmd: Command) => runAction(io, async () => {
      const o = cmd.optsWithGlobals() as { json?: boolean };
      const e = await clientOf(cmd).call<WafEvent>('GET', `/events/${encodeURIComponent(id)}`);
      io.out(o.json ? JSON.stringify(e, null, 2) : eventDetail(e));
    }));

  withConnection(ev.command('top').description('most frequent signatures, client IPs or paths over a window'))
    .option('--kind <kind>', 'signatures | ips | paths', (v) => {
      if (!['signatures', 'ips', 'paths'].includes(v)) throw new InvalidArgumentError('expected signatures, ips or paths');
      return v;
    }, 'signatures')
    .option('--since <when>', 'window start (default 1h)', timeArg)
    .option('-n, --n <n>', 'how many', intArg, '10')
    .option('--json', 'as JSON')
    .action(async (own: { kind: string; since?: string; n: string; json?: boolean }, cmd: Command) => runAction(io, async () => {
      // The parent `events` command shares --since/--json: commander may hand them to either.
      const o = { ...own, ...pick(cmd.optsWithGlobals(), ['since', 'json']) } as { kind: string; since?: string; n: string; json?: boolean };
      o.since ??= '1h';
      const r = await clientOf(cmd).call<{ top: Array<{ key: string; count: number; name?: string; family?: string }> }>('GET', `/events/top?kind=${o.kind}&since=${encodeURIComponent(o.since)}&n=${o.n}`);
      if (o.json) return io.out(JSON.stringify(r.top));
      for (const t of r.top) io.out(`${String(t.count).padStart(7)}  ${t.key}${t.name ? `  ${t.name} (${t.family})` : ''}`);
      if (!r.top.length) io.out(`no events since ${o.since}`);
    }));
  return ev;
}

/** main.ts registration: `registerEvents(program)`. */
export function registerEvents(program: Command): void {
  program.addCommand(eventsCommand());
}
