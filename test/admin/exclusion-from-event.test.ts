/** exclusionsFor(event): signature × the engine's (decoded, normalised) path × target, one per distinct match. */
import t from 'tap';
import { exclusionsFor } from '../../src/admin/events-routes.ts';
import { plantedEvent } from '../log/fixtures.ts';

t.test('exact path, per match, de-duplicated', async (t) => {
  const e = plantedEvent({ url: '/caf%C3%A9/./a//b/../login?x=1' });
  const all = exclusionsFor(e, { path: 'exact', target: true });
  t.same(all.map((x) => [x.rule, x.pathRegex, x.target]), [
    ['942100', '^/café/a/login$', 'args:q'],
    ['942200', '^/café/a/login$', 'args:password'],
    ['941100', '^/café/a/login$', 'body_raw'],
  ]);
  t.ok(all.every((x) => x.site === 'shop' && /allowed from event/.test(x.note ?? '')));
  const twice = plantedEvent({ matches: [...e.matches, { ...e.matches[0] }] });
  t.equal(exclusionsFor(twice, { path: 'exact', target: true }).length, 3, 'same signature × target once');
});

t.test('regex metacharacters in the path are escaped; prefix and any scopes; one match; no target', async (t) => {
  const e = plantedEvent({ url: '/a.b/(x)+?q=1' });
  t.equal(exclusionsFor(e, { path: 'exact', target: true, match: 0 })[0].pathRegex, '^/a\\.b/\\(x\\)\\+$');
  t.same(exclusionsFor(e, { path: 'prefix', pathPrefix: '/a.b/', target: false, match: 1 }), [{ rule: '942200', site: 'shop', pathPrefix: '/a.b/', note: `allowed from event ${e.id} (SQLi in password)` }]);
  const any = exclusionsFor(e, { path: 'any', target: true, match: 2 })[0];
  t.notOk('pathRegex' in any || 'pathPrefix' in any);
  t.same(exclusionsFor(e, { path: 'exact', target: true, match: 9 }), []);
});
