/** Runs the example Django site (examples/django) with Debian's python3-django on a free loopback port, for end-to-end tests. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { freePort } from './redis.ts';

const SITE = fileURLToPath(new URL('../../examples/django', import.meta.url));

/** The python that has Django: Debian's /usr/bin/python3 first (python3-django), else python3 on PATH. */
export function djangoPython(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import django; print(django.get_version())'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  throw new Error('Django is not installed for python3: sudo apt-get install -y python3-django');
}

export interface DjangoSite {
  origin: string;
  port: number;
  dataDir: string;
  /** Lines Django's request-logging middleware wrote: what really reached Django. */
  requests(): string[];
  stop(): Promise<void>;
}

export async function startDjango(opts: { proxies?: string[] } = {}): Promise<DjangoSite> {
  const py = djangoPython();
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-django-'));
  const env = { ...process.env, SHIELDSITE_DATA: dataDir, BULWARK_PROXIES: (opts.proxies ?? ['127.0.0.1', '::1']).join(','), PYTHONDONTWRITEBYTECODE: '1' };
  const run = (args: string[]) => {
    const r = spawnSync(py, ['manage.py', ...args], { cwd: SITE, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`manage.py ${args.join(' ')} failed: ${r.stderr}`);
  };
  run(['migrate', '-v0']);
  run(['shell', '-c', "from django.contrib.auth.models import User; User.objects.create_superuser('admin', 'admin@example.test', 'correct horse battery staple')"]);
  const port = await freePort();
  const proc: ChildProcess = spawn(py, ['manage.py', 'runserver', `127.0.0.1:${port}`, '--noreload', '--nothreading'], { cwd: SITE, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`django runserver did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const logFile = join(dataDir, 'requests.log');
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    requests: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []),
    stop: async () => {
      if (proc.exitCode !== null) return;
      await new Promise<void>((res) => { proc.once('exit', () => res()); proc.kill('SIGTERM'); });
    },
  };
}
