/**
 * Shield a real Django app: the example site under Django's own server, Bulwark in front with the django profile and a
 * login brute-force policy. Drive it like a user (login with CSRF, admin save of prose with SQL/HTML words, upload,
 * search with quotes, JSON API), then attack it; every attack is refused, is an event, and never reaches Django.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDjango } from '../helpers/django.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const TOKEN = 'django-e2e-admin-token-0123';

/** An admin change form whose prose is full of SQL and HTML words (what editors really write). */
const ADMIN_NOTE = {
  title: "Select the union reps; drop table 4 from O'Brien's plan",
  body: '<p>Minutes: we will <strong>select</strong> a union representative, then <em>drop</em> the old table from the order and <a href="https://example.test/x?a=1&b=2">update</a> the "delete" rules -- or not; 1=1 in the vote.</p>\n<script src="/static/admin/js/core.js"></script>',
  _save: 'Save',
};

/** A minimal browser: cookie jar, CSRF token from the page, no automatic redirects. */
class Browser {
  cookies = new Map<string, string>();
  constructor(private readonly base: string, private readonly extraHeaders: Record<string, string> = {}) {}
  async request(method: string, path: string, init: { body?: string | FormData; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', accept: 'text/html,application/xhtml+xml', ...this.extraHeaders, ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(this.base + path, { method, headers, body: init.body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
  get(path: string, headers?: Record<string, string>) { return this.request('GET', path, { headers }); }
  async csrf(path: string): Promise<string> {
    const page = await this.get(path);
    const m = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.text);
    if (!m) throw new Error(`no CSRF token on ${path} (status ${page.status})`);
    return m[1];
  }
  postForm(path: string, fields: Record<string, string>) {
    return this.request('POST', path, { body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', referer: this.base + path } });
  }
}

t.test('Django behind Bulwark', async (t) => {
  const django = await startDjango();
  const bw = await startTestBulwark({
    trustedProxies: ['127.0.0.1/32'],
    sites: [{ name: 'shieldsite', hosts: ['127.0.0.1', 'localhost'], upstream: django.origin, profiles: ['django'] }],
    admin: { listen: '127.0.0.1:0', tokens: [{ name: 'e2e', token: TOKEN, role: 'admin' }] },
    rateLimit: {
      attackBan: null,
      login: [{ name: 'django-login', pathPrefix: '/accounts/login/', field: 'username', failureStatus: [200], perUserIp: { points: 3, durationSec: 300, blockSec: 300 } }],
    },
  });
  t.teardown(async () => { await bw.close(); await django.stop(); });
  // The test client stands in for a user at 203.0.113.7 behind a trusted load balancer on 127.0.0.1.
  const user = new Browser(bw.url, { 'x-forwarded-for': '203.0.113.7' });

  t.test('a user logs in with CSRF, uses the admin, uploads, searches and calls the API', async (t) => {
    const token = await user.csrf('/accounts/login/');
    const login = await user.postForm('/accounts/login/', { csrfmiddlewaretoken: token, username: 'admin', password: 'correct horse battery staple', next: '/whoami/' });
    t.equal(login.status, 302, 'login redirects (CSRF accepted)');
    t.equal(login.headers.get('location'), '/whoami/');
    const who = JSON.parse((await user.get('/whoami/', { accept: 'application/json' })).text) as { ip: string; user: string; scheme: string };
    t.equal(who.user, 'admin');
    t.equal(who.ip, '203.0.113.7', 'Django sees the real client IP');
    t.equal(who.scheme, 'http');

    const addToken = await user.csrf('/admin/notes/note/add/');
    const save = await user.postForm('/admin/notes/note/add/', {
      ...ADMIN_NOTE,
      csrfmiddlewaretoken: addToken,
    });
    t.equal(save.status, 302, `admin save accepted (got ${save.status}: ${save.text.slice(0, 200)})`);
    // The same form on a site without the django profile is blocked: the profile is what lets it through.
    const bare = await startTestBulwark({ upstream: django.origin, rateLimit: { enabled: false } });
    const blocked = await new Browser(bare.url).postForm('/admin/notes/note/add/', { ...ADMIN_NOTE, csrfmiddlewaretoken: addToken });
    await bare.close();
    t.equal(blocked.status, 403, 'without the profile the admin prose is blocked');

    const upToken = await user.csrf('/upload/');
    const form = new FormData();
    form.set('csrfmiddlewaretoken', upToken);
    form.set('comment', 'Quarterly report (final)');
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n');
    form.set('file', new Blob([pdf], { type: 'application/pdf' }), 'report.pdf');
    const up = await user.request('POST', '/upload/', { body: form, headers: { referer: `${bw.url}/upload/` } });
    t.equal(up.status, 200);
    t.same(JSON.parse(up.text), { name: 'report.pdf', size: pdf.length, comment: 'Quarterly report (final)' }, 'the file arrived byte for byte');

    const search = await user.get(`/search/?q=${encodeURIComponent(`O'Brien "rock 'n' roll" -- it's 5' 11"`)}`);
    t.equal(search.status, 200, 'search with quotes passes');

    const created = await user.request('POST', '/api/notes/', { body: JSON.stringify({ title: 'Select your plan', body: 'Use <b>bold</b> or DROP us a line; union members get 10% off.' }), headers: { 'content-type': 'application/json', accept: 'application/json' } });
    t.equal(created.status, 201);
    const list = JSON.parse((await user.get('/api/notes/', { accept: 'application/json' })).text) as { notes: Array<{ title: string }> };
    t.ok(list.notes.some((n) => n.title === 'Select your plan'));
  });

  t.test('with TLS terminated by Bulwark, Django sees https and the real client IP', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-django-tls-'));
    const cert = join(dir, 'localhost.crt');
    const key = join(dir, 'localhost.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    const tls = await startTestBulwark({
      sites: [{ name: 'shieldsite', hosts: ['localhost'], upstream: django.origin, profiles: ['django'] }],
      tls: { certs: [{ cert, key }] },
      rateLimit: { enabled: false },
    });
    t.teardown(() => tls.close());
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: tls.port, servername: 'localhost', path: '/whoami/', headers: { host: 'localhost', accept: 'application/json' }, ca: readFileSync(cert) }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    const who = JSON.parse(body) as { scheme: string; secure: boolean; ip: string };
    t.equal(who.scheme, 'https', 'SECURE_PROXY_SSL_HEADER + X-Forwarded-Proto: Django sees https');
    t.equal(who.secure, true);
    t.equal(who.ip, '127.0.0.1', 'the client address Bulwark saw');
  });

  t.test('attacks are refused, logged as events, and never reach Django', async (t) => {
    const attacker = new Browser(bw.url, { 'x-forwarded-for': '198.51.100.66' });
    const seenBefore = django.requests().length;
    const attacks: Array<{ name: string; send: () => Promise<{ status: number; text: string }>; marker: string }> = [
      { name: 'SQL injection in search', marker: 'UNION', send: () => attacker.get(`/search/?q=${encodeURIComponent("x' UNION SELECT username, password FROM auth_user--")}`) },
      { name: 'XSS in a form', marker: 'onerror', send: () => attacker.postForm('/upload/', { comment: '<img src=x onerror=alert(document.cookie)>' }) },
      { name: 'path traversal', marker: 'passwd', send: () => attacker.get('/search/?file=..%2f..%2f..%2f..%2fetc%2fpasswd') },
      { name: 'scanner user agent', marker: 'scanner-probe', send: () => attacker.get('/search/?q=scanner-probe', { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' }) },
    ];
    for (const a of attacks) {
      const res = await a.send();
      t.equal(res.status, 403, `${a.name}: blocked`);
      t.match(res.text, /event/i, `${a.name}: the page quotes an event id`);
    }
    // Brute force: wrong passwords; Django answers 200 (form again) on failure, which the login policy counts.
    const codes: number[] = [];
    const bruteToken = await attacker.csrf('/accounts/login/');
    for (let i = 0; i < 5; i++) {
      const r = await attacker.postForm('/accounts/login/', { csrfmiddlewaretoken: bruteToken, username: 'admin', password: `guess-${i}` });
      codes.push(r.status);
      await new Promise((res) => setTimeout(res, 50));
    }
    t.same(codes.slice(0, 3), [200, 200, 200], 'the first failures reach Django');
    t.same(codes.slice(3), [429, 429], 'then the username is locked for this client');

    const arrived = django.requests().slice(seenBefore);
    for (const a of attacks) t.notOk(arrived.some((l) => l.includes(a.marker) || (a.marker === 'passwd' && l.includes('etc'))), `${a.name}: Django never saw it`);
    t.equal(arrived.filter((l) => l.startsWith('POST /accounts/login/')).length, 3, 'only 3 login attempts reached Django');
    t.ok(arrived.every((l) => l.endsWith('from 198.51.100.66')), 'Django saw the attacker\'s real address on what did arrive');

    const res = await fetch(`${bw.adminUrl}/api/events?ip=198.51.100.66&limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const events = ((await res.json()) as { events: Array<{ action: string; url: string; matches: Array<{ id: number }>; policy?: string }> }).events;
    t.equal(events.filter((e) => e.action === 'block').length, 4, 'one block event per attack');
    t.ok(events.filter((e) => e.action === 'block').every((e) => e.matches.length > 0), 'each names the signatures that matched');
    t.equal(events.filter((e) => e.action === 'rate-limit' && e.policy === 'django-login').length, 2, 'the locked logins are events with the policy');
  });
});
