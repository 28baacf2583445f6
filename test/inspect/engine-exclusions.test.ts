// Exclusions are applied before evaluation: by id / family / tag / *, narrowed by site, path prefix or regex (on the
// normalised path), one target, or client CIDRs; plans are cached per applicable set, and the Django profile works.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { loadLibrary } from '../../src/signatures/loader.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { Exclusion, SignatureSpec } from '../../src/types.ts';

const spec = (id: number, family: string, tags: string[], pattern: string): SignatureSpec => ({
  id, name: `s${id}`, family, paranoia: 1, severity: 'critical', targets: ['args', 'cookies', 'headers:user-agent'],
  transforms: ['url_decode_uni', 'lowercase'], operator: 'rx', pattern, tags, examples: { match: ['/'], pass: ['/'] },
});
const specs = [spec(1, 'sqli', ['attack-sqli'], 'union\\s+select'), spec(2, 'xss', ['attack-xss'], '<script'), spec(3, 'rce', ['attack-rce'], ';\\s*cat\\s')];
const ctx = { paranoia: 1, threshold: 5, mode: 'block' } as const;
const attack = '/p/x?a=1+union+select+2&b=%3Cscript%3E&c=1;cat+/etc/passwd';
const ids = (ex: Exclusion[], url = attack, extra: Partial<typeof ctx & { site: string; clientIp: string }> = {}, headers?: Record<string, string>) =>
  compileRuleset(specs, { version: 1, exclusions: ex }).inspect(exampleToInput(headers ? { uri: url, headers } : url), { ...ctx, ...extra }).matches.map((m) => m.id).sort();

t.test('rule forms: id, family, tag, *', async (t) => {
  t.same(ids([]), [1, 2, 3]);
  t.same(ids([{ id: 'e', rule: '1' }]), [2, 3]);
  t.same(ids([{ id: 'e', rule: 'family:xss' }]), [1, 3]);
  t.same(ids([{ id: 'e', rule: 'tag:attack-rce' }]), [1, 2]);
  t.same(ids([{ id: 'e', rule: '*' }]), []);
  t.same(ids([{ id: 'e', rule: '1-2' }]), [3]);
});

t.test('site, path prefix and path regex narrow an exclusion; the path is normalised first', async (t) => {
  t.same(ids([{ id: 'e', rule: '*', site: 'shop' }], attack, { site: 'shop' }), []);
  t.same(ids([{ id: 'e', rule: '*', site: 'shop' }], attack, { site: 'blog' }), [1, 2, 3]);
  t.same(ids([{ id: 'e', rule: '*', pathPrefix: '/p/' }]), []);
  t.same(ids([{ id: 'e', rule: '*', pathPrefix: '/q/' }]), [1, 2, 3]);
  t.same(ids([{ id: 'e', rule: '*', pathRegex: '^/p/[a-z]+$' }]), []);
  t.same(ids([{ id: 'e', rule: '*', pathPrefix: '/admin/' }], attack.replace('/p/x', '/admin/../p/x')), [1, 2, 3], 'dot segments do not reach an excluded prefix');
});

t.test('target exclusions remove one member only (args:K covers query, form, JSON); other targets still fire', async (t) => {
  t.same(ids([{ id: 'e', rule: '*', target: 'args:a' }]), [2, 3]);
  t.same(ids([{ id: 'e', rule: '1', target: 'args:b' }]), [1, 2, 3], 'excluding another signature on b changes nothing');
  const json = { method: 'POST', uri: '/api', headers: { 'content-type': 'application/json' }, body: '{"a":"1 union select 2","n":{"a":"x"}}' };
  const r = compileRuleset(specs, { version: 1, exclusions: [{ id: 'e', rule: '*', target: 'args:a' }] }).inspect(exampleToInput(json), ctx);
  t.same(r.matches, [], 'JSON key a excluded through args:a');
  const ua = { 'User-Agent': 'x; cat /etc/passwd' };
  t.same(ids([{ id: 'e', rule: '*', target: 'headers:User-Agent' }], '/', {}, ua), [], 'header names compare case-insensitively');
  t.same(ids([{ id: 'e', rule: '*', target: 'cookies:session' }], '/', {}, ua), [3]);
});

t.test('client CIDR allow-lists skip rules for those clients only', async (t) => {
  const ex: Exclusion[] = [{ id: 'scanner', rule: '*', cidrs: ['10.1.0.0/16', '2001:db8::/32'] }];
  t.same(ids(ex, attack, { clientIp: '10.1.2.3' }), []);
  t.same(ids(ex, attack, { clientIp: '2001:db8::7' }), []);
  t.same(ids(ex, attack, { clientIp: '10.2.0.1' }), [1, 2, 3]);
  t.same(ids(ex, attack, {}), [1, 2, 3], 'no client IP: no allow-listing');
});

t.test('bad exclusions are refused naming the exclusion id', async (t) => {
  t.throws(() => compileRuleset(specs, { version: 1, exclusions: [{ id: 'bad1', rule: 'what' }] }), /exclusion bad1: rule "what"/);
  t.throws(() => compileRuleset(specs, { version: 1, exclusions: [{ id: 'bad2', rule: '*', target: 'nope:x' }] }), /exclusion bad2: unknown target collection/);
  t.throws(() => compileRuleset(specs, { version: 1, exclusions: [{ id: 'bad3', rule: '*', cidrs: ['10.0.0.0/40'] }] }), /exclusion bad3: bad prefix/);
  t.throws(() => compileRuleset(specs, { version: 1, exclusions: [{ id: 'bad4', rule: '*', pathRegex: '(' }] }), /exclusion bad4/);
});

t.test('the Django profile: password and CSRF fields are not inspected, the rest is', async (t) => {
  const lib = loadLibrary(fileURLToPath(new URL('../../signatures', import.meta.url)), { selfTest: false });
  const django = lib.profiles.django;
  t.ok(django?.length, 'django profile present');
  const plain = compileRuleset(lib.signatures, { version: 1 });
  const withProfile = compileRuleset(lib.signatures, { version: 1, exclusions: django });
  const form = (pw: string, user = 'alice') => exampleToInput({ method: 'POST', uri: '/accounts/login/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrfmiddlewaretoken=abc&username=${user}&password=${encodeURIComponent(pw)}` });
  const pw = "' OR 1=1 --<script>";
  t.equal(plain.inspect(form(pw), ctx).action, 'block', 'without the profile the odd password is blocked');
  t.equal(withProfile.inspect(form(pw), ctx).action, 'allow', 'with the profile it passes');
  t.equal(withProfile.inspect(form('x', "admin' OR '1'='1' --"), ctx).action, 'block', 'the username is still inspected');
});
