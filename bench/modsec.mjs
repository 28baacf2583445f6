// nginx + ModSecurity v3 + OWASP CRS (anomaly mode; PL1 and inbound threshold 5 unless told otherwise) as a comparison point
// Starts its own nginx master (2 workers) on a free 127.0.0.1 port with a config written into a temp dir, in front of
// `upstream`. Needs the Debian packages nginx, libnginx-mod-http-modsecurity and modsecurity-crs.
// startModsec({ upstream, paranoia = 1, threshold = 5 }) → { url, port, dir, stop(), errors() }, or null (reason printed)
// when something is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { onCpu, SERVER_CPU } from './lib.mjs';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';

const NGINX = '/usr/sbin/nginx';
const MODULE_CONF = '/etc/nginx/modules-enabled/50-mod-http-modsecurity.conf';
// ModSecurity's recommended base config: Debian's libnginx-mod-http-modsecurity ships it as /etc/nginx/modsecurity.conf.
const BASE_CONFS = ['/etc/modsecurity/modsecurity.conf-recommended', '/etc/nginx/modsecurity.conf', '/usr/share/nginx/docs/modsecurity/modsecurity.conf'];
const CRS_SETUPS = ['/etc/modsecurity/crs/crs-setup.conf', '/usr/share/modsecurity-crs/crs-setup.conf.example'];
const CRS_RULES = '/usr/share/modsecurity-crs/rules';
/** Request body limits given to ModSecurity (and to nginx): room for the 1 MiB JSON bench. */
export const MODSEC_BODY_LIMIT = 4 * 1024 * 1024;
/** ModSecurity's recommended config denies (400) at ≥ 1000 arguments; a 1 MiB JSON import has tens of thousands. */
export const MODSEC_ARGS_LIMIT = 200_000;

function modulePath() {
  if (!existsSync(MODULE_CONF)) return null;
  const p = /load_module\s+([^;\s]+)\s*;/.exec(readFileSync(MODULE_CONF, 'utf8'))?.[1];
  if (!p) return null;
  const candidates = isAbsolute(p) ? [p] : [join('/usr/share/nginx', p), join('/usr/lib/nginx/modules', basename(p))];
  return candidates.find((c) => existsSync(c)) ?? null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The CRS setup must not already set what we set (a duplicate rule id stops ModSecurity from loading). */
const setsId = (file, id) => readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').includes(`id:${id}`);

export async function startModsec({ upstream, paranoia = 1, threshold = 5 }) {
  const module = modulePath();
  const base = BASE_CONFS.find((f) => existsSync(f));
  const crsSetup = CRS_SETUPS.find((f) => existsSync(f));
  const missing = !existsSync(NGINX) ? `${NGINX} not found`
    : !module ? `the ModSecurity nginx module (${MODULE_CONF}) not found`
    : !base ? `ModSecurity's recommended config not found (${BASE_CONFS.join(', ')})`
    : !crsSetup || !existsSync(CRS_RULES) ? `OWASP CRS not found (${CRS_SETUPS.join(', ')}, ${CRS_RULES})`
    : null;
  if (missing) {
    console.log(`ModSecurity comparison skipped: ${missing} (apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs)`);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-modsec-'));
  chmodSync(dir, 0o755); // nginx workers run as nobody when started by root
  const port = await freePort();
  const up = new URL(upstream);
  const crsDir = '/etc/modsecurity/crs';
  const lines = [
    `Include ${base}`,
    'SecRuleEngine On',
    'SecRequestBodyAccess On',
    'SecAuditEngine Off',
    `SecAuditLog ${join(dir, 'audit.log')}`,
    'SecStatusEngine Off',
    // Responses are not inspected (like Bulwark's default: responseInspection unset); the origin's answer is 22 B of text.
    'SecResponseBodyAccess Off',
    `SecRequestBodyLimit ${MODSEC_BODY_LIMIT}`,
    `SecRequestBodyNoFilesLimit ${MODSEC_BODY_LIMIT}`,
    // No SecRequestBodyInMemoryLimit: ModSecurity 3 refuses it ("use your web server configurations"); nginx's
    // client_body_buffer_size below keeps bodies up to the same size in memory.
    `SecArgumentsLimit ${MODSEC_ARGS_LIMIT}`,
    'SecRuleRemoveById 200007',
    `SecRule &ARGS "@ge ${MODSEC_ARGS_LIMIT}" "id:200017,phase:2,t:none,log,deny,status:400,msg:'Failed to fully parse request body due to large argument count'"`,
  ];
  if (!setsId(crsSetup, 900000)) lines.push(`SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=${paranoia}"`);
  if (!setsId(crsSetup, 900110)) lines.push(`SecAction "id:900110,phase:1,nolog,pass,t:none,setvar:tx.inbound_anomaly_score_threshold=${threshold},setvar:tx.outbound_anomaly_score_threshold=4"`);
  lines.push(`Include ${crsSetup}`);
  if (existsSync(join(crsDir, 'REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf'))) lines.push(`Include ${join(crsDir, 'REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf')}`);
  lines.push(`Include ${CRS_RULES}/*.conf`);
  if (existsSync(join(crsDir, 'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf'))) lines.push(`Include ${join(crsDir, 'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf')}`);
  writeFileSync(join(dir, 'main.conf'), lines.join('\n') + '\n');
  const size = `${MODSEC_BODY_LIMIT / 1024 / 1024}m`;
  writeFileSync(join(dir, 'nginx.conf'), `load_module ${module};
worker_processes 2;
error_log ${join(dir, 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  client_max_body_size ${size};
  client_body_buffer_size ${size};
  keepalive_requests 1000;
  upstream origin { server ${up.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    modsecurity on;
    modsecurity_rules_file ${join(dir, 'main.conf')};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # A worker is blocked while ModSecurity inspects a big body (a minute for a 1 MiB JSON import). Meanwhile the origin
      # may close the idle keep-alive connection (after 60 s): retrying the POST on a new connection avoids a bogus 502.
      # And nginx's clock stands still during the block: a read timeout set right after it is already past when the
      # block lasted longer than the timeout, so the request gets 504 before the origin can answer. Hence 600 s.
      proxy_next_upstream error timeout non_idempotent;
      proxy_connect_timeout 600s;
      proxy_send_timeout 600s;
      proxy_read_timeout 600s;
    }
  }
}
`);
  const nginxArgs = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  const test = spawnSync(NGINX, [...nginxArgs, '-t'], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed for ${join(dir, 'nginx.conf')}:\n${test.stderr}`);
  const [cmd, argv] = onCpu(SERVER_CPU, NGINX, [...nginxArgs, '-g', 'daemon off;']);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => new Promise((resolve) => {
    if (exited) return resolve();
    child.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      resolve();
    });
    child.kill('SIGQUIT'); // graceful: the master waits for its workers
  });
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`nginx exited at start:\n${stderr}\n${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      if (i > 100) {
        await stop();
        throw new Error('nginx did not answer within 10 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** nginx's error log without the start-up notices (what ModSecurity denied, upstream errors). */
  const errors = () => readFileSync(join(dir, 'error.log'), 'utf8').split('\n').filter((l) => l && !l.includes('[notice]')).join('\n');
  return { url, port, dir, stop, errors };
}
