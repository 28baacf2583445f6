import t from 'tap';
import { profileExclusions } from '../../src/signatures/profiles.ts';

t.test('no profiles → no exclusions', async (t) => {
  t.same(profileExclusions({}, 'signatures'), []);
});

t.test('a site profile is scoped to its site; a global one is not', async (t) => {
  const site = profileExclusions({ sites: [{ name: 'shop', profiles: ['django'] }] }, 'signatures');
  t.ok(site.length > 3, 'the django pack has exclusions');
  t.ok(site.every((e) => e.site === 'shop'));
  t.ok(site.some((e) => e.target === 'args:csrfmiddlewaretoken'));
  const global = profileExclusions({ inspection: { profiles: ['django'] } }, 'signatures');
  t.equal(global.length, site.length);
  t.ok(global.every((e) => e.site === undefined));
  t.equal(new Set(global.map((e) => e.id)).size, global.length, 'ids stay unique');
});

t.test('an unknown profile names itself and where it was asked for', async (t) => {
  t.throws(() => profileExclusions({ sites: [{ name: 'shop', profiles: ['rails'] }] }, 'signatures'), /sites\.shop\.profiles: unknown profile "rails" \(available: .*django/);
});
