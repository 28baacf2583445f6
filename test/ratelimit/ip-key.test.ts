import t from 'tap';
import { clientKey, unmapIp } from '../../src/ratelimit/ip-key.ts';

t.test('IPv4 keys are the address', async (t) => {
  t.equal(clientKey('203.0.113.7'), '203.0.113.7');
  t.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
  t.equal(unmapIp('::ffff:10.0.0.1'), '10.0.0.1');
});

t.test('IPv6 addresses in one /64 share a key, other /64s do not', async (t) => {
  const a = clientKey('2001:db8:aa:bb:1:2:3:4');
  const b = clientKey('2001:db8:aa:bb:ffff:ffff:ffff:ffff');
  const c = clientKey('2001:db8:aa:bc::1');
  t.equal(a, b);
  t.not(a, c);
  t.equal(a, '2001:db8:aa:bb:0:0:0:0/64');
  t.equal(clientKey('2001:db8::1'), '2001:db8:0:0:0:0:0:0/64');
});

t.test('prefix is configurable', async (t) => {
  t.equal(clientKey('2001:db8:aa:bb:1:2:3:4', 48), '2001:db8:aa:0:0:0:0:0/48');
  t.equal(clientKey('2001:db8:aa:bb:1:2:3:4', 56), '2001:db8:aa:0:0:0:0:0/56');
  t.equal(clientKey('2001:db8:aa:bbcc::1', 56), '2001:db8:aa:bb00:0:0:0:0/56');
  t.equal(clientKey('::1', 128), '0:0:0:0:0:0:0:1/128');
});

t.test('embedded IPv4 tail is parsed', async (t) => {
  t.equal(clientKey('64:ff9b::192.0.2.33', 128), '64:ff9b:0:0:0:0:c000:221/128');
});
