import t from 'tap';
import { startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';
import type { RatePolicy } from '../../src/types.ts';

t.test('rate-limit policies follow the live rule snapshot', async (t) => {
  const backend = await startBackend();
  let snapshot: { version: number; ratePolicies: RatePolicy[] } = { version: 1, ratePolicies: [] };
  const rules = {
    current: () => { throw new Error('inspection is off in this test'); },
    status: () => ({ version: snapshot.version }),
    live: () => ({ version: snapshot.version, snapshot: { ratePolicies: snapshot.ratePolicies } }),
  };
  const bw = await startTestBulwark({ upstream: backend.origin, mode: 'off', rateLimit: { global: null, attackBan: null } }, { rules });
  t.teardown(async () => { await bw.close(); await backend.close(); });
  const hit = async () => { const r = await fetch(`${bw.url}/x`); await r.text(); return r.status; };
  t.same([await hit(), await hit(), await hit()], [200, 200, 200], 'no policy in version 1');
  snapshot = { version: 2, ratePolicies: [{ name: 'from-store', key: 'ip', points: 2, durationSec: 60 }] };
  t.same([await hit(), await hit(), await hit()], [200, 200, 429], 'version 2 brings a policy: enforced at once');
  snapshot = { version: 3, ratePolicies: [{ name: 'bad', key: 'ip', points: 0, durationSec: 60 }] };
  t.equal(await hit(), 429, 'a policy set that does not compile is refused; the previous one stays');
  t.ok(bw.logs.some((l) => /policies of the live rules refused/.test(String(l.msg))), 'and says so in the log');
});
