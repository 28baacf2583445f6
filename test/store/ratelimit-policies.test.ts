/**
 * Rate-limit policies edited in the rule store: two Bulwark instances on one real redis-server; `bulwark ratelimit set`
 * through A's admin API adds a policy that limits on B; bad input changes nothing and says why; viewers cannot change
 * policies; `remove` through B lifts the limit on A; every change prints the new version and is audited by token name.
 */
import t from 'tap';
import { Command } from 'commander';
import { startRedis } from '../helpers/redis.ts';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark, type TestBulwark } from '../helpers/bulwark.ts';
import { ratelimitCommand } from '../../src/cli/ratelimit.ts';
import type { LiveRuleset } from '../../src/store/live-ruleset.ts';
import { PROPAGATION_MS, propagationMs, waitUntil } from './propagation.ts';

const TOKEN = 'rl-admin-token-0123456789';
const VIEWER = 'rl-viewer-token-0123456789';

/** Run `bulwark ratelimit <args>` in-process against an instance's admin API; stdout, stderr and exit code. */
async function cli(b: TestBulwark, args: string[], token = TOKEN) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  const program = new Command('bulwark');
  program.addCommand(ratelimitCommand(io));
  const quiet = (c: Command) => { c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) }); c.commands.forEach(quiet); };
  quiet(program);
  process.exitCode = 0;
  let code = 0;
  try {
    await program.parseAsync(['node', 'bulwark', 'ratelimit', ...args, '--admin', b.adminUrl, '--token', token]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  process.exitCode = 0;
  return { out: out.join('\n'), err: err.join('\n'), code };
}

const live = (b: TestBulwark) => b.running.services.rules as unknown as LiveRuleset<unknown>;
const status = async (b: TestBulwark, path: string) => (await fetch(b.url + path)).status;
const statuses = async (b: TestBulwark, path: string, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await status(b, path));
  return out;
};
const newVersion = (out: string) => Number(/new version: (\d+)/.exec(out)?.[1] ?? NaN);

t.test('rate-limit policies through the store, two instances on one redis', async (t) => {
  const redis = await startRedis();
  const backend = await startBackend();
  const config = {
    upstream: backend.origin,
    mode: 'off',
    logging: { level: 'warn' },
    redis: { url: redis.url, maxBackoffMs: 200, pollMs: 1000 },
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'alice', token: TOKEN, role: 'admin' }, { name: 'vera', token: VIEWER, role: 'viewer' }] },
    rateLimit: { global: null, attackBan: null, policies: [] },
  };
  const a = await startTestBulwark(config);
  const b = await startTestBulwark(config);
  t.teardown(async () => { await a.close(); await b.close(); await backend.close(); await redis.stop(); });
  await waitUntil(() => live(a).live().version > 0 && live(a).live().version === live(b).live().version, 'both instances on one version');

  const empty = await cli(a, ['list']);
  t.equal(empty.code, 0, empty.err);
  t.match(empty.out, /^0 policies, version \d+$/m);
  t.same(await statuses(b, '/limited/x', 5), [200, 200, 200, 200, 200], 'no policy: B does not limit');

  const before = live(a).live().version;
  const set = await cli(a, ['set', 'tight', '--points', '3', '--duration', '60', '--path', '/limited', '--methods', 'GET,HEAD']);
  t.equal(set.code, 0, set.err);
  t.match(set.out, /added rate-limit policy tight: 3 per 60 s by ip, GET,HEAD \/limited\*/);
  const v = newVersion(set.out);
  t.equal(v, before + 1, `prints the new version (${v})`);
  const ms = await propagationMs(live(b), v);
  t.ok(ms <= PROPAGATION_MS, `B runs version ${v} ${ms} ms after it was made`);
  t.same(await statuses(b, '/limited/x', 4), [200, 200, 200, 429], 'the policy added through A limits on B');
  t.equal(await status(b, '/free'), 200, 'other paths are not limited');

  const list = await cli(b, ['list']);
  t.match(list.out, /tight: 3 per 60 s by ip/);
  t.match(list.out, new RegExp(`1 policy, version ${v}`));

  t.test('bad input changes nothing and says why', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['set', 'x', '--points', '-1', '--duration', '60'], /--points must be a positive integer/],
      [['set', 'x', '--points', '5'], /required option '--duration/],
      [['set', 'x', '--points', '5', '--duration', '60', '--key', 'mac'], /key must be ip, header:NAME/],
      [['set', 'x', '--points', '5', '--duration', '60', '--path', 'nope'], /pathPrefix: .*\//],
      [['set', 'x', '--points', '5', '--duration', '60', '--path-regex', '(unclosed'], /pathRegex: expected a valid regular expression/],
      [['set', 'global-ip', '--points', '5', '--duration', '60'], /global ceiling/],
      [['set', 'bad name!', '--points', '5', '--duration', '60'], /letters, digits/],
      [['set', 'tight', '--points', '3', '--duration', '60', '--path', '/limited', '--methods', 'GET,HEAD'], /already exactly that; nothing changed/],
      [['remove', 'nope'], /no rate-limit policy named nope \(known: tight\)/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(a, args);
      t.not(r.code, 0, `${args.join(' ')}: non-zero exit`);
      t.match(r.err, message, `${args.join(' ')}: ${r.err.split('\n')[0]}`);
    }
    const viewer = await cli(a, ['remove', 'tight'], VIEWER);
    t.not(viewer.code, 0);
    t.match(viewer.err, /vera.*needs role admin|role/, 'a viewer token cannot change policies');
    const api = await fetch(`${a.adminUrl}/api/ratelimit/policies/other`, {
      method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tight', points: 1, durationSec: 1 }),
    });
    t.equal(api.status, 400, 'a body naming another policy than the path is refused');
    t.equal(live(a).live().version, v, 'no version was written');
    t.equal(live(b).live().version, v);
  });

  t.test('remove through B lifts the limit on A; the audit names the token', async (t) => {
    t.equal(await status(a, '/limited/y'), 429, 'A limits too (counters shared in redis)');
    const r = await cli(b, ['remove', 'tight']);
    t.equal(r.code, 0, r.err);
    t.match(r.out, /removed rate-limit policy tight/);
    const v2 = newVersion(r.out);
    t.equal(v2, v + 1);
    t.ok(await propagationMs(live(a), v2) <= PROPAGATION_MS, 'A runs the removal within the bound');
    t.same(await statuses(a, '/limited/y', 5), [200, 200, 200, 200, 200], 'A no longer limits');
    const h = await fetch(`${a.adminUrl}/api/rules/history?limit=2`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((x) => x.json()) as { history: Array<{ author: string; action: string }> };
    t.match(h.history, [{ author: 'alice', action: 'ratelimit-remove' }, { author: 'alice', action: 'ratelimit-add' }]);
  });
});
