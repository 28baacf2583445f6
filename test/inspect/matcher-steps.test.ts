// The hot-reload compile builds literal automata in resumable steps (matcherSteps / buildMatcher) so no single build
// blocks the event loop. Check that a large automaton really yields many times, that the async build gives the same
// automaton as the one-shot constructor, and that it ends up shared through the matcher cache.
import t from 'tap';
import { LiteralMatcher, matcherSteps } from '../../src/inspect/literal-matcher.ts';
import { buildMatcher, literalMatcher } from '../../src/inspect/matcher-cache.ts';

// 400 owners × 20 literals of 12 chars: tens of thousands of states, like the library's largest automata.
let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const word = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
const entries = Array.from({ length: 400 }, (_, owner) => ({ owner, literals: Array.from({ length: 20 }, () => word(12)) }));

t.test('a large automaton is built in many steps, the same as built at once', async (t) => {
  let steps = 0;
  const gen = matcherSteps(entries);
  let r = gen.next();
  while (!r.done) {
    steps++;
    r = gen.next();
  }
  t.ok(steps >= 100, `${steps} yields while building`);
  const stepped = new LiteralMatcher(entries, r.value);
  const once = new LiteralMatcher(entries);
  for (let i = 0; i < 300; i++) {
    const e = entries[Math.floor(rnd() * entries.length)];
    const text = `${word(5)}${e.literals[Math.floor(rnd() * 20)].toUpperCase()}${word(5)} ${word(20)}`;
    const a = new Uint8Array(entries.length);
    const b = new Uint8Array(entries.length);
    t.equal(stepped.scan(text, a), once.scan(text, b));
    if (a[e.owner] !== 1 || b[e.owner] !== 1 || !a.every((v, k) => v === b[k])) t.fail(`automata differ on ${text}`);
  }
});

t.test('buildMatcher awaits between steps and fills the shared cache', async (t) => {
  let pauses = 0;
  const m = await buildMatcher(entries, async () => {
    pauses++;
  });
  t.ok(pauses >= 100, `${pauses} pauses`);
  t.equal(literalMatcher(entries), m, 'the engine finds the built automaton in the cache');
  let again = 0;
  t.equal(await buildMatcher(entries, async () => { again++; }), m, 'a second build is the cached one');
  t.equal(again, 0, 'and costs no steps');
});
