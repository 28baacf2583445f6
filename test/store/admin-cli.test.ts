/** The admin rules API on a real listener, driven by the real CLI commands: output, exit codes, audit author, nothing changed on bad input. */
import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { MemoryRuleStore } from '../../src/store/memory-store.ts';
import { LiveRuleset } from '../../src/store/live-ruleset.ts';
import { RuleService } from '../../src/store/rule-service.ts';
import { rulesRoutes } from '../../src/admin/rules-routes.ts';
import { rulesCommand } from '../../src/cli/rules.ts';
import { exclusionsCommand } from '../../src/cli/exclusions.ts';
import { modeCommand } from '../../src/cli/mode.ts';
import { baseContent, LIBRARY, spec, tinyCompile } from './fixtures.ts';

const store = new MemoryRuleStore();
const live = new LiveRuleset({ store, compile: tinyCompile, base: baseContent(), pollMs: 0 });
const rules = new RuleService(store, live, tinyCompile);
const app = Fastify({ logger: false });
// Stands in for the auth plugin's contract (request.admin = { name, role }) so the routes' role check is exercised.
const TOKENS: Record<string, { name: string; role: string }> = { 'tok-admin': { name: 'alice', role: 'admin' }, 'tok-ro': { name: 'viewer', role: 'read-only' } };
app.addHook('onRequest', async (req) => {
  const tok = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
  (req as unknown as { admin?: unknown }).admin = TOKENS[tok];
});
app.register(rulesRoutes, { prefix: '/api', rules: rules as RuleService<unknown> });
let admin = '';

t.before(async () => {
  await live.start();
  admin = await app.listen({ port: 0, host: '127.0.0.1' });
});
t.teardown(async () => { await app.close(); await live.close(); });

/** Run `bulwark <args>` in-process; returns stdout, stderr and the exit code. */
async function cli(args: string[], token = 'tok-admin') {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  const program = new Command('bulwark').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  program.addCommand(rulesCommand(io)).addCommand(exclusionsCommand(io)).addCommand(modeCommand(io));
  const noExit = (c: Command) => { c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) }); c.commands.forEach(noExit); };
  noExit(program);
  process.exitCode = 0;
  let code = 0;
  try {
    await program.parseAsync(['node', 'bulwark', ...args, ...(args.includes('--admin') ? [] : ['--admin', admin]), '--token', token]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  process.exitCode = 0;
  return { out: out.join('\n'), err: err.join('\n'), code };
}

const libDir = (specs: unknown[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sigs-'));
  const families = new Map<string, unknown[]>();
  for (const sp of specs as Array<{ family: string }>) families.set(sp.family, [...(families.get(sp.family) ?? []), sp]);
  for (const [family, list] of families) writeFileSync(join(dir, `${family}.yaml`), stringify({ family, signatures: list }));
  mkdirSync(join(dir, 'profiles'));
  return dir;
};

t.test('list and show', async (t) => {
  const r = await cli(['rules', 'list', '--family', 'sqli']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /900100 +sqli +PL1 +critical +on/);
  t.notMatch(r.out, /900200/);
  t.match(r.out, /1 signature\(s\), version 1/);
  const pl2 = await cli(['rules', 'list', '--pl', '2']);
  t.match(pl2.out, /900300/);
  t.notMatch(pl2.out, /900100/);
  const s = await cli(['rules', 'show', '900200']);
  t.match(s.out, /900200 sig 900200[\s\S]*operator rx "<script"/);
});

t.test('disable / enable / set print the change and the new version; history names the token', async (t) => {
  const d = await cli(['rules', 'disable', '900100']);
  t.equal(d.code, 0, d.err);
  t.match(d.out, /disabled 900100 \(sig 900100\)\nnew version: 2 \(was 1\)/);
  t.same(live.current().match('union select', 'q'), [], 'live at once');
  t.match((await cli(['rules', 'list', '--family', 'sqli'])).out, /900100 .* OFF\*/);
  const e = await cli(['rules', 'enable', '900100']);
  t.match(e.out, /enabled 900100[\s\S]*new version: 3/);
  const set = await cli(['rules', 'set', '900300', '--paranoia', '1', '--severity', 'warning']);
  t.match(set.out, /900300: paranoia 2→1, severity critical→warning\nnew version: 4/);
  t.same(live.current().match('../etc', 'q'), [900300], 'PL2 rule moved to PL1 runs now');
  const h = await cli(['rules', 'history', '--limit', '3']);
  t.match(h.out, /^v4 .* alice {2}set {2}900300[\s\S]*v3 .* alice {2}enable[\s\S]*v2 .* alice {2}disable/);
});

t.test('bad input: clear message, non-zero exit, nothing changed', async (t) => {
  const before = await store.latestVersion();
  const cases: Array<[string[], RegExp]> = [
    [['rules', 'disable', '123456'], /no signature with id 123456/],
    [['rules', 'disable', 'abc'], /ID must be an integer/],
    [['rules', 'set', '900100', '--paranoia', '7'], /--paranoia must be an integer 1-4/],
    [['rules', 'set', '900100', '--severity', 'huge'], /severity must be one of/],
    [['rules', 'set', '900100'], /give --paranoia N and\/or --severity S/],
    [['rules', 'push', '/nonexistent/dir'], /cannot read signature directory \/nonexistent\/dir/],
    [['rules', 'push', libDir([spec(900100, 'union'), spec(900101, '(unclosed')])], /refused, nothing changed: signature 900101/],
    [['rules', 'push', libDir([spec(900100, 'a'), spec(900100, 'b')])], /refused, nothing sent[\s\S]*signature 900100: duplicate id/],
    [['rules', 'push', libDir([{ ...spec(900100, 'a'), severity: 'huge' }])], /refused, nothing sent[\s\S]*severity/],
    [['rules', 'rollback', '999'], /version 999 is not kept/],
    [['exclusions', 'add', '--rule', '777'], /rule 777: no signature with that id/],
    [['exclusions', 'add', '--rule', '900100', '--path-regex', '(['], /pathRegex does not compile/],
    [['exclusions', 'add', '--rule', '900100', '--path', 'admin'], /pathPrefix "admin" must start with \//],
    [['exclusions', 'add', '--rule', '900100', '--cidr', '10.0.0.0/33'], /cidr "10.0.0.0\/33" is not an IP or CIDR/],
    [['exclusions', 'add', '--rule', '*'], /would switch inspection off everywhere/],
    [['exclusions', 'remove', 'ex-nope'], /no exclusion with id ex-nope/],
    [['mode', 'set', 'shop', 'loud'], /mode must be block, detect or off/],
  ];
  for (const [args, msg] of cases) {
    const r = await cli(args);
    t.not(r.code, 0, `${args.join(' ')} exits non-zero`);
    t.match(r.err, msg, args.join(' '));
  }
  const direct = await fetch(`${admin}/api/rules/library`, {
    method: 'PUT', headers: { authorization: 'Bearer tok-admin', 'content-type': 'application/json' },
    body: JSON.stringify({ signatures: [{ ...spec(900100, 'a'), targets: [] }] }),
  });
  t.equal(direct.status, 422, 'the API schema-checks pushed signatures too');
  t.match(await direct.json(), { error: 'WAF_ERR_SIGNATURE_INVALID', message: /entry 1 \(id 900100\)/ });
  const ro = await cli(['rules', 'disable', '900100'], 'tok-ro');
  t.equal(ro.code, 1);
  t.match(ro.err, /token "viewer" has role read-only; changing rules needs role admin/);
  const none = await cli(['rules', 'disable', '900100'], 'wrong');
  t.match(none.err, /needs an admin token/);
  t.equal(await store.latestVersion(), before, 'no version written by any of them');
  const down = await cli(['rules', 'list', '--admin', 'http://127.0.0.1:1']);
  t.equal(down.code, 3);
  t.match(down.err, /cannot reach the admin API at http:\/\/127.0.0.1:1\/api/);
});

t.test('exclusions add/list/remove and mode set', async (t) => {
  const a = await cli(['exclusions', 'add', '--rule', '900200', '--target', 'args:comment', '--path', '/blog', '--note', 'rich text']);
  t.equal(a.code, 0, a.err);
  const id = /added exclusion (ex-[0-9a-f]+)/.exec(a.out)?.[1];
  t.ok(id, a.out);
  t.same(live.current().match('<script', 'comment'), []);
  t.match((await cli(['exclusions', 'list'])).out, new RegExp(`${id} +rule 900200 +path /blog\\* +target args:comment +# rich text`));
  const dup = await cli(['exclusions', 'add', '--rule', '900200', '--target', 'args:comment', '--path', '/blog']);
  t.match(dup.err, /the same exclusion exists already/);
  const rm = await cli(['exclusions', 'remove', id!]);
  t.match(rm.out, /removed exclusion/);
  t.same(live.current().match('<script', 'comment'), [900200]);
  const m = await cli(['mode', 'set', 'shop.example', 'detect']);
  t.match(m.out, /site shop.example: \(config default\) → detect\nnew version: \d+/);
  t.equal(live.modeFor('shop.example'), 'detect');
  t.match((await cli(['mode', 'list'])).out, /shop.example {2}detect/);
});

t.test('push, diff and rollback', async (t) => {
  const next = [...LIBRARY.slice(0, 2), spec(900400, 'eval\\(')];
  const dir = libDir(next);
  const d = await cli(['rules', 'diff', dir]);
  t.equal(d.code, 0, d.err);
  t.match(d.out, /\+ 900400[\s\S]*- 900300[\s\S]*1 added, 1 removed, 0 changed/);
  const before = await store.latestVersion();
  const p = await cli(['rules', 'push', dir]);
  t.match(p.out, /pushed 3 signatures: 1 added \(900400\), 1 removed \(900300\), 0 changed[\s\S]*new version: \d+/);
  t.equal(await store.latestVersion(), before + 1);
  t.same(live.current().match('eval(', 'q'), [900400]);
  const rb = await cli(['rules', 'rollback']);
  t.match(rb.out, new RegExp(`rolled back to the content of version ${before}\\nnew version: ${before + 2}`));
  t.same(live.current().match('eval(', 'q'), []);
  const st = await cli(['rules', 'status']);
  t.match(st.out, new RegExp(`version ${before + 2}, store memory reachable`));
});
