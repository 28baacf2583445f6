/** The test port helper: a server port is below the ephemeral range and held against every other test process. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadPort, freePort } from './ports.ts';

const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

t.test('server ports: below the ephemeral range, distinct, locked by this process until it exits', async (t) => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  t.equal(new Set(ports).size, 20, 'no port handed out twice');
  t.ok(ports.every((p) => p >= 30_000 && p < Math.min(32_768, ephemeralFrom)), ports.join(' '));
  for (const p of ports) t.equal(readFileSync(join(tmpdir(), 'bulwark-test-ports', String(p)), 'utf8'), String(process.pid));
});

t.test('another test process never gets a port this one holds', async (t) => {
  const mine = new Set(await Promise.all(Array.from({ length: 200 }, () => freePort())));
  const script = `import { freePort } from ${JSON.stringify(new URL('./ports.ts', import.meta.url).href)};
    const ps = []; for (let i = 0; i < 300; i++) ps.push(await freePort()); console.log(JSON.stringify(ps));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const theirs: number[] = JSON.parse(out.trim().split('\n').pop()!);
  t.equal(theirs.length, 300);
  t.same(theirs.filter((p) => mine.has(p)), [], 'no overlap with the 200 held here');
});

t.test('dead ports are from a range of their own and refuse connections', async (t) => {
  const p = await deadPort();
  t.ok(p >= 20_000 && p < 30_000, String(p));
});
