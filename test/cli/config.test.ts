// Config loading: defaults, precedence (file < env < flags), every bad value reported with its path, frozen result; CLI exit codes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { flagsToOverrides } from '../../src/cli/start.ts';
import { spawnCli } from '../helpers/bulwark.ts';

// Spawns tsx subprocesses: slow to start when the shared 2-core machine is loaded.
t.setTimeout(240_000);

const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('defaults with no file, env or flags', async (t) => {
  const c = loadConfig({ env: {} });
  t.equal(c.listen, '0.0.0.0:8080');
  t.equal(c.upstream, 'http://127.0.0.1:8000');
  t.equal(c.admin.listen, '127.0.0.1:9090');
  t.equal(c.mode, 'block');
  t.equal(c.paranoia, 1);
  t.equal(c.threshold, 5);
  t.equal(c.inspection.bodyPolicy, 'reject');
  t.equal(c.redis.url, undefined);
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.limits) && Object.isFrozen(c.proxy.stripResponseHeaders), 'frozen deeply');
});

t.test('precedence: file < env < flags', async (t) => {
  const f = file('p.yaml', 'listen: 127.0.0.1:1111\nupstream: http://127.0.0.1:2222\nmode: detect\nparanoia: 2\n');
  const env = { BULWARK_CONFIG: f, BULWARK_UPSTREAM: 'http://127.0.0.1:3333', BULWARK_PARANOIA: '3', REDIS_URL: 'redis://127.0.0.1:6390' };
  const c = loadConfig({ env, overrides: flagsToOverrides({ mode: 'off', admin: '127.0.0.1:4444' }) });
  t.equal(c.listen, '127.0.0.1:1111', 'from file');
  t.equal(c.upstream, 'http://127.0.0.1:3333', 'env over file');
  t.equal(c.paranoia, 3, 'env number');
  t.equal(c.mode, 'off', 'flag over file');
  t.equal(c.admin.listen, '127.0.0.1:4444');
  t.equal(c.redis.url, 'redis://127.0.0.1:6390');
});

t.test('every bad value is reported with its path', async (t) => {
  const f = file(
    'bad.yaml',
    [
      'listen: nowhere',
      'mode: blocc',
      'paranoia: 7',
      'trustedProxies: [10.0.0.0/99]',
      'limits: { maxBodyBytes: -5 }',
      'sites:',
      '  - name: shop',
      '    hosts: [Shop.Example]',
      '    upstream: http://127.0.0.1:8000/path',
      '    routes: [{ prefix: api }]',
      'defaultSite: nope',
      'typo_key: 1',
    ].join('\n'),
  );
  const err = t.throws(() => loadConfig({ env: {}, file: f })) as unknown as ConfigError;
  t.equal(err.code, 'WAF_ERR_CONFIG_INVALID');
  const paths = err.issues.map((i) => i.path);
  for (const p of ['listen', 'mode', 'paranoia', 'trustedProxies[0]', 'limits.maxBodyBytes', 'sites[0].hosts[0]', 'sites[0].upstream', 'sites[0].routes[0].prefix', '(root)']) {
    t.ok(paths.includes(p), `reports ${p}`);
  }
  t.ok(err.issues.every((i) => i.message.length > 5), 'each with what is expected');
});

t.test('cross-checks: duplicate hosts, unknown defaultSite, admin on the proxy address', async (t) => {
  const err = t.throws(() =>
    loadConfig({
      env: {},
      object: {
        listen: '127.0.0.1:8080',
        admin: { listen: '127.0.0.1:8080' },
        defaultSite: 'nope',
        sites: [
          { name: 'a', hosts: ['x.example'], upstream: 'http://127.0.0.1:1' },
          { name: 'b', hosts: ['x.example'], upstream: 'http://127.0.0.1:2' },
        ],
      },
    }),
  ) as unknown as ConfigError;
  t.same(err.issues.map((i) => i.path).sort(), ['admin.listen', 'defaultSite', 'sites[1].hosts[0]']);
});

t.test('cross-check: a body limit larger than the process holds in memory at once is refused at load', async (t) => {
  const base = { limits: { maxBufferedBodyBytes: 4 * 1024 * 1024 } };
  t.doesNotThrow(() => loadConfig({ env: {}, object: base }), 'defaults: 10 MiB hard limit but 1 MiB inspected under reject: fits 4 MiB');
  const err = t.throws(() =>
    loadConfig({
      env: {},
      object: {
        ...base,
        inspection: { bodyPolicy: 'partial' },
        sites: [{ name: 'up', hosts: ['up.example'], upstream: 'http://127.0.0.1:1', maxBodyBytes: 2 * 1024 * 1024, routes: [{ prefix: '/files', maxBodyBytes: 64 * 1024 * 1024 }] }],
      },
    }),
  ) as unknown as ConfigError;
  t.same(err.issues.map((i) => i.path), ['limits.maxBodyBytes', 'sites[0].routes[0]'], 'partial: the 10 MiB default and the 64 MiB route are read whole; the 2 MiB site fits');
  t.match(err.issues[0].message, /maxBufferedBodyBytes \(4194304\)/);
  t.doesNotThrow(() => loadConfig({ env: {}, object: { limits: { maxBufferedBodyBytes: 0 }, inspection: { bodyPolicy: 'partial' } } }), '0: unbounded, nothing to check');
});

t.test('unreadable or non-YAML file', async (t) => {
  t.throws(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') }), { code: 'WAF_ERR_CONFIG_INVALID' });
  t.throws(() => loadConfig({ env: {}, file: file('x.yaml', 'a: [1, 2\n') }), { code: 'WAF_ERR_CONFIG_INVALID' });
  t.throws(() => loadConfig({ env: {}, file: file('y.yaml', '- 1\n- 2\n') }), { code: 'WAF_ERR_CONFIG_INVALID' });
});

t.test('CLI: --help lists start; a bad config exits non-zero naming each bad path', async (t) => {
  const help = await spawnCli(['--help']);
  t.equal(await help.exited, 0);
  t.match(help.out(), /start/);
  const bad = file('cli-bad.yaml', 'mode: nope\nlimits: { maxHeaderCount: 0 }\n');
  const run = await spawnCli(['start', '--config', bad, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  t.equal(await run.exited, 2);
  t.match(run.err(), /mode: /);
  t.match(run.err(), /limits\.maxHeaderCount: /);
  const flag = await spawnCli(['start', '--upstream', 'ftp://x', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  t.equal(await flag.exited, 2);
  t.match(flag.err(), /upstream: expected an http\(s\) origin/);
});
