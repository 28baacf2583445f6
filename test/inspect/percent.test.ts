// percentDecode: its fast path (bytes from %XX in one pass, one native UTF-8 decode) must give what decodeURIComponent
// gives on well-formed input, and the careful path must flag what decodeURIComponent refuses.
import t from 'tap';
import { percentDecode } from '../../src/inspect/transforms/percent.ts';

const pieces = ['%', '2', '0', 'A', 'f', 'g', '+', 'a', ' ', 'é', '€', '%20', '%2B', '%25', '%2', '%C3%A9', '%c3%a9', '%E2%82%AC', '%F0%9F%98%80',
  '%ED%A0%80', '%C0%AE', '%C3', '%FF', '%80', '%00', '%7F', '%u0041', '\u2028', '\ud800', 'x'.repeat(40)];

function reference(s: string, plus: boolean): string | null {
  try {
    return decodeURIComponent(plus ? s.replaceAll('+', ' ') : s);
  } catch {
    return null;
  }
}

t.test('the same value as decodeURIComponent on well-formed input; flagged where it refuses', async (t) => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let wellFormed = 0;
  let refused = 0;
  let wrong = 0;
  for (let k = 0; k < 20000; k++) {
    let s = '';
    const len = 1 + rand(12);
    for (let i = 0; i < len; i++) s += pieces[rand(pieces.length)];
    for (const plus of [false, true]) {
      const want = reference(s, plus);
      const got = percentDecode(s, plus);
      const ok = want !== null ? got.value === want && !got.invalid && !got.badUtf8 : got.invalid || got.badUtf8;
      if (want !== null) wellFormed++;
      else refused++;
      if (!ok) {
        wrong++;
        if (wrong <= 3) t.fail(`${JSON.stringify(s)} plus=${plus}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
      }
    }
  }
  t.ok(wellFormed > 5000 && refused > 5000, `${wellFormed} well-formed, ${refused} refused`);
  t.equal(wrong, 0);
});

t.test('a long form body decodes the same as decodeURIComponent', async (t) => {
  const text = 'the quick brown fox jumps over the lazy dog, O\'Brien: 100% «sûr» € '.repeat(40);
  const body = encodeURIComponent(text).replace(/%20/g, '+');
  t.equal(percentDecode(body, true).value, text);
});
