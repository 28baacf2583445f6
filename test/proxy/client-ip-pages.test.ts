// Pure parts: client IP through trusted proxies (rightmost untrusted hop) and the neutral error pages.
import t from 'tap';
import { clientIp, normalizeIp, TrustedProxies } from '../../src/client-ip.ts';
import { renderErrorPage, wantsJson } from '../../src/pages.ts';

t.test('client IP', async (t) => {
  const none = new TrustedProxies([]);
  const lb = new TrustedProxies(['10.0.0.0/8', 'fd00::/8', '127.0.0.1']);
  t.equal(clientIp('203.0.113.5', '1.1.1.1', none), '203.0.113.5', 'untrusted peer: X-Forwarded-For ignored');
  t.equal(clientIp('::ffff:203.0.113.5', undefined, none), '203.0.113.5', 'IPv4-mapped peer normalised');
  t.equal(clientIp('10.0.0.2', '198.51.100.7', lb), '198.51.100.7');
  t.equal(clientIp('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.9', lb), '198.51.100.7', 'rightmost untrusted; spoofed left part ignored');
  t.equal(clientIp('10.0.0.2', '10.0.0.8, 10.0.0.9', lb), '10.0.0.8', 'all trusted → leftmost');
  t.equal(clientIp('10.0.0.2', 'garbage, 10.0.0.9', lb), '10.0.0.9', 'malformed hop stops the walk');
  t.equal(clientIp('fd00::1', '[2001:db8::1]:443', lb), '2001:db8::1');
  t.equal(clientIp('10.0.0.2', '198.51.100.7:5555', lb), '198.51.100.7', 'IPv4 with port');
  t.equal(clientIp('10.0.0.2', ['1.2.3.4', '5.6.7.8'], lb), '5.6.7.8', 'repeated headers joined');
  t.equal(normalizeIp('[::1]'), '::1');
});

t.test('pages', async (t) => {
  t.ok(wantsJson('application/json'));
  t.ok(wantsJson('application/problem+json, text/html;q=0.5'));
  t.notOk(wantsJson('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'));
  t.notOk(wantsJson(undefined));
  const blocked = renderErrorPage(403, { requestId: 'r1', eventId: 'ev<1>' }, 'text/html');
  t.match(blocked.contentType, /text\/html/);
  t.match(blocked.body, /ev&lt;1&gt;/, 'event id shown, escaped');
  t.match(blocked.body, /403 Request blocked/);
  const j = JSON.parse(renderErrorPage(403, { requestId: 'r1', eventId: 'e1' }, 'application/json').body);
  t.same(j.error, { status: 403, code: 'WAF_ERR_BLOCKED', message: 'The request was blocked.', requestId: 'r1', eventId: 'e1' });
  for (const s of [400, 404, 413, 421, 429, 502, 503, 504]) {
    const p = renderErrorPage(s, { requestId: 'r' }, undefined);
    t.match(p.body, new RegExp(`<title>${s} `), `${s} page`);
  }
  t.equal(JSON.parse(renderErrorPage(429, { requestId: 'r', retryAfter: 30 }, 'application/json').body).error.retryAfter, 30);
});
