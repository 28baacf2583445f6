// docker-compose.yml: `docker compose config` when docker is here, otherwise parse it as YAML and check its services.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const file = new URL('../../docker-compose.yml', import.meta.url);

t.test('docker-compose.yml defines bulwark, redis and an example backend, wired together', async (t) => {
  const hasCompose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  if (hasCompose) {
    const docker = spawnSync('docker', ['compose', '-f', file.pathname, 'config', '-q'], { encoding: 'utf8' });
    t.equal(docker.status, 0, `docker compose config: ${docker.stderr}`);
  } else t.comment('docker compose not available: checked as YAML only');
  const doc = parse(readFileSync(file, 'utf8')) as { services: Record<string, { environment?: Record<string, string>; ports?: string[]; depends_on?: string[]; command?: unknown }> };
  t.same(Object.keys(doc.services).sort(), ['bulwark', 'django', 'redis']);
  const bw = doc.services.bulwark;
  t.same(bw.depends_on?.sort(), ['django', 'redis']);
  t.equal(bw.environment?.REDIS_URL, 'redis://redis:6379');
  t.equal(bw.environment?.BULWARK_UPSTREAM, 'http://django:8000');
  t.ok(bw.ports?.includes('127.0.0.1:9090:9090'), 'admin published on the host loopback only');
  // The env it sets must be a valid Bulwark config.
  const env = Object.fromEntries(Object.entries(bw.environment ?? {}).filter(([, v]) => v !== ''));
  const cfg = loadConfig({ env });
  t.equal(cfg.upstream, 'http://django:8000');
  t.equal(cfg.redis.url, 'redis://redis:6379');
});
