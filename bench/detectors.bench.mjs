// Cost of the semantic detectors per value: µs per call of detectSqli and detectXss on sets of benign values and attacks.
//
//   npm run build && node bench/detectors.bench.mjs [--ref DIR] [--rounds N]
//
// With --ref (a directory holding another build of the detector files, e.g. /tmp/det-orig made as described in
// bench/detectors-diff.mjs),
// the reference and dist/ are timed interleaved in the same process, batch by batch, and both columns printed.
// Each figure is the best batch of --rounds (default 15): the machine is shared, the quietest batch is the detector's own cost.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const REF = opt('--ref', null);
const ROUNDS = Number(opt('--rounds', '15'));

async function load(dir) {
  return {
    sqli: (await import(pathToFileURL(join(dir, 'sqli.js')).href)).detectSqli,
    xss: (await import(pathToFileURL(join(dir, 'xss.js')).href)).detectXss,
  };
}
const builds = [];
if (REF) builds.push(['ref', await load(REF)]);
builds.push(['new', await load(join(ROOT, 'dist', 'inspect', 'detectors'))]);

// A plain browser GET: query args, cookies, Referer, User-Agent (lower-cased and decoded, as the engine passes them).
const GET = [
  'k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8', '1', '20', 'en-us', 'desc', 'created_at', 'shoes', 'red running shoes', '42.50',
  'ga1.2.1234567890.1712345678', 'gs1.1.1712345678.3.1.1712345699.0.0.0', 'true', 'light', '2024-05-01',
  'https://www.example.com/search?q=red+running+shoes&page=2', 'john.doe@example.com', 'eyjhbgcioijiuzi1nij9.eyjzdwiioiixmjm0in0.sflkxwrjsmekkf2qt4fwpmejf36pok6yjv_adqssw5c',
  'mozilla/5.0 (x11; linux x86_64) applewebkit/537.36 (khtml, like gecko) chrome/124.0.0.0 safari/537.36',
  '{"cart":[{"id":17,"qty":2}],"currency":"eur"}',
];
// Prose form fields with apostrophes and SQL-ish English words.
const PROSE_BASE = [
  "o'brien selects a union representative from the group by order of seniority",
  "i'd like to order the blue one, size 10 (not 11) - can you ship it by friday? thanks, mary o'brien!!",
  "we're excited: it's been a long road, we dropped the old 'legacy' mode and added streaming support.",
  "don't delete the table where we keep the users' data; it's the only copy",
  'she said "hello" and left -- or so i heard; where is the join?',
  "the 'select all' button doesn't work when i'm logged in as admin",
  'rock \'n\' roll isn\'t dead, and 1 or 2 of us still like it',
  "email support@example.com or call 555-0100 (9-5, mon-fri)",
  'can\'t wait for the "update" and the new union-made shirts',
];
const PROSE = [];
for (let i = 0; PROSE.length < 63; i++) PROSE.push(i % 3 === 2 ? String(1000 + i) : PROSE_BASE[i % PROSE_BASE.length]);
const ATTACKS = [
  "1' or '1'='1", '1 union select username,password from users--', "admin'--", "1';waitfor delay '0:0:5'--",
  '1 and sleep(5)', "x' and extractvalue(1,concat(0x7e,version()))--", '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>', 'javascript:alert(document.cookie)', "';alert(1)//", '{{constructor.constructor(\'alert(1)\')()}}',
];
const SETS = [['browser GET (19 values)', GET], ['2 KB prose form (63 values)', PROSE], ['attacks (11 values)', ATTACKS]];

// Every value of the benign fixtures that 942100/941100 inspect (args and names, cookies and names, JSON, XML, Referer,
// User-Agent), through the 942100 transforms, lower-cased.
const INSPECTED = new Set(['args', 'args_names', 'cookies', 'cookie_names', 'json', 'xml']);
{
  const { buildRequestView } = await import(pathToFileURL(join(ROOT, 'dist', 'inspect', 'request-view.js')).href);
  const { applyTransforms } = await import(pathToFileURL(join(ROOT, 'dist', 'inspect', 'transforms.js')).href);
  const dir = join(ROOT, 'test', 'fixtures', 'benign');
  const values = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      const body = r.body ? Buffer.from(r.body, r.body_base64 ? 'base64' : 'utf8') : null;
      const view = buildRequestView({ method: r.method, url: r.uri, httpVersion: '1.1', headers: r.headers, body });
      for (const t of view.targets) if (INSPECTED.has(t.collection) || (t.collection === 'headers' && (t.key.toLowerCase() === 'referer' || t.key.toLowerCase() === 'user-agent'))) values.push(applyTransforms(t.value, ['url_decode_uni', 'html_entity_decode', 'unicode_normalize']).toLowerCase());
    }
  }
  SETS.push([`benign fixtures (${values.length} values)`, values]);
}

function time(f, values, reps) {
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (let i = 0; i < values.length; i++) f(values[i]);
  return Number(process.hrtime.bigint() - t0) / 1e3 / (reps * values.length);
}

console.log(`node ${process.version}; best of ${ROUNDS} batches; µs per value (and per request-set total)`);
for (const [label, values] of SETS) {
  for (const det of ['sqli', 'xss']) {
    const reps = Math.max(2, Math.round(20000 / values.length));
    for (const [, b] of builds) time(b[det], values, reps); // warm-up
    const best = builds.map(() => Infinity);
    for (let round = 0; round < ROUNDS; round++) {
      builds.forEach(([, b], k) => { best[k] = Math.min(best[k], time(b[det], values, reps)); });
    }
    const cols = builds.map(([name], k) => `${name} ${best[k].toFixed(3)} µs (${(best[k] * values.length).toFixed(1)})`).join('   ');
    const ratio = builds.length === 2 ? `   ×${(best[0] / best[1]).toFixed(2)}` : '';
    console.log(`${label.padEnd(28)} ${det.padEnd(5)} ${cols}${ratio}`);
  }
}
