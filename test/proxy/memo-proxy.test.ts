// The clean-target memo through a real Bulwark (full library, block mode) and a real backend: requests whose request
// line, header block and form parts were all seen clean before are still blocked when one thing in them changes to an
// attack, and an attack repeated on one request line is blocked every time; a form learnt by its page's template (parts
// by place) blocks an attack in place of a known field every time; the backend gets only the clean ones.
import t from 'tap';
import { request } from 'undici';
import type { Backend } from '../helpers/backend.ts';
import { backendBehindBulwark, type TestBulwark } from '../helpers/bulwark.ts';

let backend: Backend;
let bw: TestBulwark;
backendBehindBulwark(t, (b, p) => {
  backend = b;
  bw = p;
}, { mode: 'block' });

const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', accept: 'text/html', cookie: 'sessionid=k3j4h5g6f7d8' };
const fields = Array.from({ length: 20 }, (_, i) => `field${i}=${encodeURIComponent('the quick brown fox ' + i)}`);
const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
  const res = await request(`${bw.url}${path}`, { method: 'POST', body, headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  await res.body.text();
  return res.statusCode;
};
const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await request(`${bw.url}${path}`, { headers: { ...browser, ...headers } });
  await res.body.text();
  return res.statusCode;
};

t.test('a form seen clean before: one field changed to an attack blocks, the rest of the request unchanged', async (t) => {
  const before = backend.received.length;
  for (let i = 0; i < 4; i++) t.equal(await post('/checkout?step=2', fields.join('&')), 200, `clean form ${i + 1}`);
  const attack = [...fields];
  attack[7] = `field7=${encodeURIComponent("1' UNION SELECT password FROM users--")}`;
  t.equal(await post('/checkout?step=2', attack.join('&')), 403, 'the same line, headers and 19 fields, one field an attack');
  t.equal(await post('/checkout?step=2', fields.join('&'), { 'user-agent': '<script>alert(1)</script>' }), 403, 'the same line and form, an attack in a header');
  t.equal(await post('/checkout?step=2', `${fields.join('&')}&field3=${encodeURIComponent('; cat /etc/passwd')}`), 403, 'an extra part repeating a known name, with an attack');
  t.equal(await post('/checkout?step=2', fields.join('&')), 200, 'the clean form again');
  t.equal(backend.received.length - before, 5, 'the backend got the five clean requests only');
});

t.test('a request line with an attack blocks every time; a clean line known before still lets its query be read', async (t) => {
  const before = backend.received.length;
  for (let i = 0; i < 3; i++) t.equal(await get('/files/..%2f..%2f..%2fetc%2fpasswd'), 403, `path traversal, request ${i + 1}`);
  for (let i = 0; i < 3; i++) t.equal(await get('/search?q=running+shoes&page=2'), 200, `clean search ${i + 1}`);
  t.equal(await get(`/search?q=running+shoes&page=2&id=${encodeURIComponent('1 OR 1=1 UNION SELECT 1')}`), 403, 'a new query part with an attack');
  t.equal(await get('/search?q=running+shoes&page=2'), 200);
  t.equal(backend.received.length - before, 4, 'the backend got the four clean searches only');
});

t.test('a form its page\'s template knows: an attack in place of a field blocks every time; a page with new queries too', async (t) => {
  const before = backend.received.length;
  for (let i = 0; i < 3; i++) t.equal(await post('/profile', fields.join('&')), 200, `clean form ${i + 1} (learnt by place)`);
  const attack = [...fields];
  attack[7] = `field7=${encodeURIComponent("1' UNION SELECT password FROM users--")}`;
  for (let i = 0; i < 2; i++) t.equal(await post('/profile', attack.join('&')), 403, `the attack at place 7, request ${i + 1} (a blocked form teaches the template nothing)`);
  t.equal(await post('/profile', [fields[7], ...fields.slice(0, 7), ...fields.slice(8)].join('&')), 200, 'the clean fields in another order');
  for (let i = 1; i <= 3; i++) t.equal(await get(`/catalog/shoes?page=${i}`), 200, `the same page, new query ${i}`);
  t.equal(await get(`/catalog/shoes?page=4&sort=${encodeURIComponent('<script>alert(1)</script>')}`), 403, 'its path known, an attack in a new query');
  t.equal(backend.received.length - before, 7, 'the backend got the seven clean requests only');
});
