import t from 'tap';
import { createRedactor, luhn } from '../../src/log/redact.ts';
import { newEventId, isEventId, buildEvent } from '../../src/log/event.ts';
import { plantedEvent, SECRET, CARD } from './fixtures.ts';

t.test('event ids are short, URL-safe, unique and time-sortable', async (t) => {
  const ids = new Set(Array.from({ length: 5000 }, () => newEventId()));
  t.equal(ids.size, 5000);
  for (const id of [...ids].slice(0, 50)) {
    t.ok(isEventId(id), id);
    t.equal(encodeURIComponent(id), id);
    t.ok(id.length <= 20);
  }
  t.ok(newEventId(1_000) < newEventId(2_000_000_000_000));
  t.notOk(isEventId('../../etc/passwd'));
});

t.test('luhn', async (t) => {
  t.ok(luhn('4111111111111111'));
  t.ok(luhn('4111 1111 1111 1111'));
  t.notOk(luhn('4111111111111112'));
  t.notOk(luhn('1234'));
});

t.test('the planted secret and the card number appear nowhere in a redacted event', async (t) => {
  const r = createRedactor();
  const raw = plantedEvent();
  t.ok(JSON.stringify(raw).includes(SECRET), 'planted');
  const e = r.event(raw);
  const json = JSON.stringify(e);
  t.notOk(json.includes(SECRET), json);
  t.notOk(json.includes('4111'), 'card digits gone');
  t.equal(e.headers.authorization, '[redacted]');
  t.notOk('x-api-key' in e.headers, 'only selected headers are kept');
  t.equal(e.headers.cookie, 'sessionid=[redacted]; theme=[redacted]', 'cookie names kept, values hidden');
  t.equal(e.headers['user-agent'], 'curl/8');
  t.match(e.url, /token=\[redacted\]/);
  t.match(e.url, /q=1%27%20OR%201=1--/, 'the attack itself stays visible');
  t.equal(e.matches[0].matched, "' OR 1=1");
  t.match(e.matches[0].value, /\[card\]/);
  t.equal(e.matches[1].value, '[redacted]', 'a match in a password field is hidden entirely');
  t.equal(e.matches[2].matched, '<script>');
  t.match(e.matches[2].value, /password=\[redacted\]/);
  t.same(raw.matches[1].value.includes(SECRET), true, 'input not mutated');
});

t.test('configured names and patterns', async (t) => {
  const r = createRedactor({ names: ['pin'], patterns: ['ACME-[0-9]{6}'] });
  t.equal(r.text('a=1&pin=4242&b=2'), 'a=1&pin=[redacted]&b=2');
  t.equal(r.text('{"pin": "4242"}'), '{"pin": "[redacted]"}');
  t.equal(r.text('order ACME-123456 shipped'), 'order [redacted] shipped');
  t.equal(r.text('{"password":"hunter2","user":"bob"}'), '{"password":"[redacted]","user":"bob"}');
  t.equal(r.text('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefgh'), '[redacted]');
  t.equal(r.text('id 1234567890123'), 'id 1234567890123', 'non-Luhn digit runs stay');
  t.ok(r.secretName('csrfmiddlewaretoken'));
  t.notOk(r.secretName('comment'));
});

t.test('buildEvent caps values and keeps the decision fields', async (t) => {
  const e = buildEvent(
    { site: 's', clientIp: '1.2.3.4', peer: '5.6.7.8', method: 'GET', url: '/' + 'a'.repeat(5000), headers: { host: 'h', 'x-other': 'no' } },
    { action: 'rate-limit', mode: 'block', policy: 'login', rulesetVersion: 7, paranoia: 2 },
  );
  t.ok(e.url.length < 2100);
  t.same(e.headers, { host: 'h' });
  t.equal(e.policy, 'login');
  t.equal(e.rulesetVersion, 7);
  t.equal(e.paranoia, 2);
  t.equal(e.action, 'rate-limit');
  t.ok(isEventId(e.id));
  t.ok(!Number.isNaN(Date.parse(e.time)));
  void CARD;
});
