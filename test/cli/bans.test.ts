import t from 'tap';
import { Command } from 'commander';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import { bansCommand } from '../../src/cli/bans.ts';

const TOKEN = 'cli-admin-token-0123456789';

t.test('bulwark bans add|list|remove against a running instance', async (t) => {
  const backend = await startBackend();
  const b = await startTestBulwark({ upstream: backend.origin, mode: 'off', admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', token: TOKEN, role: 'admin' }] } });
  t.teardown(async () => { await b.close(); await backend.close(); });
  const lines: string[] = [];
  const errs: string[] = [];
  const run = async (...args: string[]) => {
    const program = new Command('bulwark').exitOverride();
    program.addCommand(bansCommand({ out: (l) => lines.push(l), err: (l) => errs.push(l) }));
    await program.parseAsync(['node', 'bulwark', 'bans', ...args, '--admin', b.adminUrl, '--token', TOKEN]);
  };
  await run('add', '192.0.2.50', '--seconds', '120', '--reason', 'probe');
  t.match(lines.at(-1), /banned 192\.0\.2\.50 for 120s \(probe\)/);
  await run('list');
  t.match(lines.join('\n'), /192\.0\.2\.50 {2}until .* probe \(by ops\)/);
  await run('remove', '192.0.2.50');
  t.match(lines.at(-1), /unbanned 192\.0\.2\.50/);
  process.exitCode = 0;
  await run('add', 'nonsense');
  t.match(errs.at(-1), /ip must be an IPv4 or IPv6 address/);
  t.equal(process.exitCode, 1, 'bad input exits non-zero');
  process.exitCode = 0;
});
