/** `bulwark events` against a running admin API: list with filters, show, top, follow, bad input and auth errors. */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, startTestBulwark } from '../helpers/bulwark.ts';
import { newEventId } from '../../src/log/event.ts';
import { plantedEvent, SECRET } from '../log/fixtures.ts';

const TOKEN = 'cli-viewer-token-0123456789';

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = await spawnCli(args, env);
  const code = await p.exited;
  return { code, out: p.out(), err: p.err() };
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

  const list = await run(['events', '--rule', '942100', '--since', '1h'], env);
  t.equal(list.code, 0, list.err);
  const lines = list.out.trim().split('\n');
  t.equal(lines.length, 3);
  t.match(lines[2], new RegExp(`block\\s+shop\\s+203\\.0\\.113\\.3\\s+POST /api/login\\?.*942100,942200,941100\\s+score 10\\s+${ids[2]}$`));
  t.notOk(list.out.includes(SECRET));

  const json = await run(['events', '--action', 'ban', '--json'], env);
  const parsed = json.out.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(parsed.length, 1);
  t.equal(parsed[0].policy, 'scanner');

  const show = await run(['events', 'show', ids[1]], env);
  t.equal(show.code, 0, show.err);
  t.match(show.out, /match\s+942100 SQL injection \(libinjection\) \[sqli, critical, PL1, \+5\] in args:q/);
  t.match(show.out, /header\s+authorization: \[redacted\]/);
  t.notOk(show.out.includes(SECRET));

  const top = await run(['events', 'top', '--kind', 'ips', '--json'], env);
  t.same(JSON.parse(top.out), [{ key: '203.0.113.1', count: 2 }, { key: '203.0.113.2', count: 1 }, { key: '203.0.113.3', count: 1 }]);

  const missing = await run(['events', 'show', '0000000000000000x'], env);
  t.equal(missing.code, 1);
  t.match(missing.err, /no event 0000000000000000x/);
  const badSince = await run(['events', '--since', 'lately'], env);
  t.not(badSince.code, 0);
  t.match(badSince.err, /--since.*duration/);
  const noToken = await run(['events'], { BULWARK_ADMIN_URL: b.adminUrl, BULWARK_ADMIN_TOKEN: '' });
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
