// docker-compose.yml: `docker compose config` when docker is here, otherwise parse it as YAML and check its services.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';

const file = new URL('../../docker-compose.yml', import.meta.url);

t.test('docker-compose.yml defines bulwark, redis and an example backend, wired together', async (t) => {
  const hasCompose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  if (hasCompose) {
    const docker = spawnSync('docker', ['compose', '-f', file.pathname, 'config', '-q'], { encoding: 'utf8' });
    t.equal(docker.status, 0, `docker compose config: ${docker.stderr}`);
  } else t.comment('docker compose not available: checked as YAML only');
  const doc = parse(readFileSync(file, 'utf8')) as { services: Record<string, { environment?: Record<string, string>; ports?: string[]; expose?: string[]; depends_on?: string[]; command?: unknown }> };
  t.same(Object.keys(doc.services).sort(), ['bulwark', 'django', 'redis']);
  const bw = doc.services.bulwark;
  t.same(bw.depends_on?.sort(), ['django', 'redis']);
  t.equal(bw.environment?.REDIS_URL, 'redis://redis:6379');
  t.ok(bw.ports?.includes('127.0.0.1:9090:9090'), 'admin published on the host loopback only');
  t.equal(doc.services.django.ports, undefined, 'the app publishes no port: reachable only through Bulwark');
  t.equal(doc.services.redis.ports, undefined, 'Redis publishes no port');
  t.match(String(doc.services.django.command), /gunicorn shieldsite\.wsgi/, 'the example app runs under gunicorn');
  // The config it points at must be a valid Bulwark config, with the django profile and a login brute-force policy.
  const configPath = bw.environment?.BULWARK_CONFIG?.replace(/^\/app\//, '');
  t.ok(configPath, 'BULWARK_CONFIG is set');
  const env = { ...Object.fromEntries(Object.entries(bw.environment ?? {}).filter(([, v]) => v !== '')), BULWARK_CONFIG: fileURLToPath(new URL(`../../${configPath}`, import.meta.url)) };
  const cfg = loadConfig({ env });
  t.equal(cfg.redis.url, 'redis://redis:6379');
  t.equal(cfg.sites[0].upstream, 'http://django:8000');
  t.same(cfg.sites[0].profiles, ['django']);
  t.ok(cfg.rateLimit.login.some((l) => l.pathPrefix === '/accounts/login/' && l.failureStatus.includes(200)), 'a login brute-force policy');
  t.equal(doc.services.django.environment?.BULWARK_PROXIES, (bw as unknown as { networks: { backend: { ipv4_address: string } } }).networks.backend.ipv4_address, 'Django believes forwarded headers only from Bulwark');
});
