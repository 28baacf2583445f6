// The real signatures/ library: every entry validates and compiles, every examples.match fires its own id and
// every examples.pass does not (one subtest per id, so a failure names the signature), no duplicate ids.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { checkSignature, readProfiles, readSignatureFiles } from '../../src/signatures/loader.ts';
import { compileRuleset } from '../../src/inspect/engine.ts';

const dir = fileURLToPath(new URL('../../signatures', import.meta.url));
const read = readSignatureFiles(dir);

t.test('every file and entry validates (schema, family, unique ids)', async (t) => {
  t.same(read.problems.map((p) => `${p.file}: ${p.message}`), []);
  t.ok(read.signatures.length > 100, `library holds ${read.signatures.length} signatures`);
});

t.test('every signature compiles and passes its own examples', async (t) => {
  for (const spec of read.signatures) {
    const problems = checkSignature(spec);
    t.same(problems, [], `${spec.id} ${spec.name} (${read.fileOf.get(spec.id)})`);
  }
});

t.test('profiles compile as exclusions', async (t) => {
  const profiles = readProfiles(dir + '/profiles');
  t.ok(Object.keys(profiles).length >= 1, 'at least one profile');
  for (const [name, list] of Object.entries(profiles)) {
    t.doesNotThrow(() => compileRuleset([], { version: 0, exclusions: list }), `profile ${name}`);
  }
});
