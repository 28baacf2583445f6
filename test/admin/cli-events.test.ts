/** `bulwark events` against a running admin API: list with filters, show, top, follow, bad input and auth errors. */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, startTestBulwark } from '../helpers/bulwark.ts';
import { newEventId } from '../../src/log/event.ts';
import { eventsCommand } from '../../src/cli/events.ts';
import { plantedEvent, SECRET } from '../log/fixtures.ts';

const TOKEN = 'cli-viewer-token-0123456789';

/** The real `bulwark` binary (proves the registration in main.ts). */
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = await spawnCli(args, env);
  const code = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

/** The same command in this process (spawning tsx for each case is slow on a shared machine). */
async function runIn(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const cmd = eventsCommand({ out: (l) => out.push(l), err: (l) => err.push(l) });
  cmd.exitOverride().configureOutput({ writeErr: (s) => err.push(s), writeOut: (s) => out.push(s) });
  process.exitCode = undefined;
  let code = 0;
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  code ||= Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('bulwark events', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-events-'));
  const b = await startTestBulwark({ events: { file: { path: join(dir, 'e.jsonl') } }, admin: { listen: '127.0.0.1:0', tokens: [{ name: 'cli', token: TOKEN, role: 'viewer' }] } });
  t.teardown(() => b.close());
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const e = plantedEvent({ id: newEventId() }, i);
    ids.push(e.id);
    b.running.services.events!.record(e);
  }
  b.running.services.events!.record({ ...plantedEvent({ id: newEventId(), url: '/other' }), matches: [], action: 'ban', policy: 'scanner' });
  const env = { BULWARK_ADMIN_URL: b.adminUrl, BULWARK_ADMIN_TOKEN: TOKEN };
  const conn = ['--admin', b.adminUrl, '--token', TOKEN];

  const list = await run(['events', '--rule', '942100', '--since', '1h'], env);
  t.equal(list.code, 0, list.err);
  const lines = list.out.trim().split('\n');
  t.equal(lines.length, 3);
  t.match(lines[2], new RegExp(`block\\s+shop\\s+203\\.0\\.113\\.3\\s+POST /api/login\\?.*942100,942200,941100\\s+score 10\\s+${ids[2]}$`));
  t.notOk(list.out.includes(SECRET));

  const json = await runIn(['--action', 'ban', '--json', ...conn]);
  const parsed = json.out.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(parsed.length, 1);
  t.equal(parsed[0].policy, 'scanner');

  const show = await runIn(['show', ids[1], ...conn]);
  t.equal(show.code, 0, show.err);
  t.match(show.out, /match\s+942100 SQL injection \(libinjection\) \[sqli, critical, PL1, \+5\] in args:q/);
  t.match(show.out, /header\s+authorization: \[redacted\]/);
  t.notOk(show.out.includes(SECRET));

  const top = await runIn(['top', '--kind', 'ips', '--json', ...conn]);
  t.same(JSON.parse(top.out), [{ key: '203.0.113.1', count: 2 }, { key: '203.0.113.2', count: 1 }, { key: '203.0.113.3', count: 1 }]);

  const missing = await runIn(['show', '0000000000000000x', ...conn]);
  t.equal(missing.code, 1);
  t.match(missing.err, /no event 0000000000000000x/);
  const badSince = await runIn(['--since', 'lately', ...conn]);
  t.not(badSince.code, 0);
  t.match(badSince.err, /--since.*duration/);
  const savedToken = process.env.BULWARK_ADMIN_TOKEN;
  delete process.env.BULWARK_ADMIN_TOKEN;
  const noToken = await runIn(['--admin', b.adminUrl]);
  if (savedToken !== undefined) process.env.BULWARK_ADMIN_TOKEN = savedToken;
  t.equal(noToken.code, 1);
  t.match(noToken.err, /token/);

  // --follow prints events recorded after it started
  const follow = await spawnCli(['events', '--follow', '--interval', '200', '--rule', '941100'], env);
  t.teardown(() => { follow.proc.kill('SIGKILL'); });
  const until = async (fn: () => boolean) => { for (let i = 0; i < 800 && !fn(); i++) await new Promise((r) => setTimeout(r, 50)); return fn(); };
  t.ok(await until(() => follow.out().trim().split('\n').filter(Boolean).length === 3), 'existing events first');
  const late = plantedEvent({ id: newEventId() }, 7);
  b.running.services.events!.record(late);
  t.ok(await until(() => follow.out().includes(late.id)), 'new event followed');
  follow.proc.kill('SIGINT');
  t.equal(await follow.exited, 0, 'stops cleanly on Ctrl-C');
});
