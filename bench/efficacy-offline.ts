// Fast in-process efficacy loop for signature writers (no proxy, no sockets): the engine alone over the corpora.
//
//   npx tsx bench/efficacy-offline.ts [--pl 1..4] [--threshold 5] [--corpus a.jsonl,b.jsonl] [--filter REGEX]
//                                     [--misses N] [--fp N] [--signatures DIR] [--profile django]
//                                     [--crs-fp N] [--fp-filter REGEX]
//
// Default corpora: ../shared/efficacy/corpus/crs.jsonl and benign-dmoz.jsonl (relative to the repo root) plus
// test/fixtures/benign/*.jsonl. Prints TPR per source/category and per rule_pl, FPR on expect=allow records of
// the benign corpora, the same for the regression corpus's own negative tests per category (--crs-fp N lists N of
// those blocked, with what fired on which target; --fp-filter keeps the categories it matches), the signatures that
// fire on benign requests (with counts), and the first misses.
// Signatures that fail to compile or self-test are skipped with a warning (so a half-edited file does not stop
// the loop); the real loader refuses them. Records with raw_b64 are parsed as raw HTTP/1.1.
// Caveat: the proxy refuses some malformed requests (400) before the engine sees them; this tool does not.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRuleset } from '../src/inspect/engine.ts';
import { checkSignature, readProfiles, readSignatureFiles } from '../src/signatures/loader.ts';
import type { Exclusion, ParanoiaLevel, RequestInput } from '../src/types.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Rec {
  id: string;
  source: string;
  category: string;
  expect: 'block' | 'allow';
  method?: string;
  uri?: string;
  version?: string;
  headers?: Array<[string, string]>;
  body?: string;
  body_base64?: boolean;
  raw_b64?: string;
  rule_pl?: number;
  rule_ids?: number[];
  flags?: string[];
}

function args(argv: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    o[a.slice(2)] = argv[i + 1] ?? '';
    i++;
  }
  return o;
}

/** Parse a raw HTTP/1.x request (for raw_b64 records); null if it has no request line. */
function parseRaw(buf: Buffer): RequestInput | null {
  const text = buf.toString('latin1');
  let end = text.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) { end = text.indexOf('\n\n'); sep = 2; }
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split(/\r?\n/);
  const m = /^(\S+) (\S+)(?: HTTP\/(\d\.\d))?/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: Array<[string, string]> = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
  }
  const body = end < 0 ? null : buf.subarray(end + sep);
  return { method: m[1], url: m[2], httpVersion: m[3] ?? '1.1', headers, body: body && body.length ? body : null };
}

function toInput(r: Rec): RequestInput | null {
  if (r.raw_b64) return parseRaw(Buffer.from(r.raw_b64, 'base64'));
  if (!r.uri || !r.method) return null;
  const body = r.body ? (r.body_base64 ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8')) : null;
  return { method: r.method, url: r.uri, httpVersion: (r.version ?? 'HTTP/1.1').replace(/^HTTP\//, ''), headers: r.headers ?? [], body };
}

const o = args(process.argv.slice(2));
const pl = Number(o.pl ?? 1) as ParanoiaLevel;
const threshold = Number(o.threshold ?? 5);
const misses = Number(o.misses ?? 10);
const fpShow = Number(o.fp ?? 25);
const filter = o.filter ? new RegExp(o.filter) : null;
const sigDir = resolve(ROOT, o.signatures ?? 'signatures');
const shared = resolve(ROOT, '..', 'shared', 'efficacy', 'corpus');
let corpora = o.corpus ? o.corpus.split(',').map((p) => resolve(p)) : [join(shared, 'crs.jsonl'), join(shared, 'benign-dmoz.jsonl')];
if (!o.corpus) {
  const benignDir = join(ROOT, 'test', 'fixtures', 'benign');
  if (existsSync(benignDir)) corpora = corpora.concat(readdirSync(benignDir).filter((n) => n.endsWith('.jsonl')).map((n) => join(benignDir, n)));
}

const read = readSignatureFiles(sigDir);
for (const p of read.problems) console.warn(`skipped: ${p.file}: ${p.message}`);
const good = read.signatures.filter((s) => {
  const problems = checkSignature(s);
  for (const p of problems) console.warn(`skipped: ${p}`);
  return problems.length === 0;
});
let exclusions: Exclusion[] = [];
if (o.profile) exclusions = readProfiles(join(sigDir, 'profiles'))[o.profile] ?? [];
const rs = compileRuleset(good, { version: 0, exclusions });
console.log(`${good.length} signatures (${read.signatures.length - good.length} skipped), PL${pl}, threshold ${threshold}${o.profile ? `, profile ${o.profile}` : ''}`);

interface Row { n: number; hit: number }
const bump = (m: Map<string, Row>, k: string, hit: boolean) => {
  const r = m.get(k) ?? { n: 0, hit: 0 };
  r.n++;
  if (hit) r.hit++;
  m.set(k, r);
};
const byCat = new Map<string, Row>();
const byPl = new Map<string, Row>();
const benign = new Map<string, Row>();
const crsAllow = new Map<string, Row>();
const crsFpList: string[] = [];
const crsFpShow = Number(o['crs-fp'] ?? 0);
const crsFpFilter = o['fp-filter'] ? new RegExp(o['fp-filter']) : null;
const fpSigs = new Map<number, { n: number; name: string; sample: string }>();
const missList: string[] = [];
const fpList: string[] = [];
let skipped = 0;
const t0 = performance.now();
let inspected = 0;

for (const file of corpora) {
  const name = file.split('/').pop() as string;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Rec;
    if (filter && !filter.test(`${r.source} ${r.category} ${r.id}`)) continue;
    const input = toInput(r);
    if (!input) { skipped++; continue; }
    const v = rs.inspect(input, { paranoia: pl, threshold, mode: 'block' });
    inspected++;
    const blocked = v.action === 'block';
    const isBenignCorpus = r.source !== 'crs';
    if (r.expect === 'block') {
      bump(byCat, `${r.source} ${r.category}`, blocked);
      bump(byCat, `${r.source} ALL`, blocked);
      if (r.rule_pl !== undefined) bump(byPl, `rule_pl=${r.rule_pl}`, blocked);
      if (!blocked && missList.length < misses) missList.push(`${r.id} [${r.category}] score=${v.score} ${input.method} ${input.url.slice(0, 140)}`);
    } else if (!isBenignCorpus) {
      bump(crsAllow, `${r.source} ${r.category}`, blocked);
      bump(crsAllow, `${r.source} ALL`, blocked);
      if (blocked && crsFpList.length < crsFpShow && (!crsFpFilter || crsFpFilter.test(r.category))) crsFpList.push(`${r.id} score=${v.score} [${v.matches.map((m) => `${m.id}@${m.target}`).join(',')}] ${input.method} ${input.url.slice(0, 100)}${r.flags?.length ? ` (${r.flags.join(',')})` : ''}`);
    } else {
      bump(benign, name, blocked);
      for (const m of v.matches) {
        const e = fpSigs.get(m.id) ?? { n: 0, name: m.name, sample: '' };
        e.n++;
        if (!e.sample) e.sample = `${m.target}=${JSON.stringify(m.matched).slice(0, 60)} in ${r.id}`;
        fpSigs.set(m.id, e);
      }
      if (blocked && fpList.length < misses) fpList.push(`${r.id} score=${v.score} [${v.matches.map((m) => m.id).join(',')}] ${input.url.slice(0, 140)}`);
    }
  }
}
const ms = performance.now() - t0;
const pct = (r: Row) => ((100 * r.hit) / Math.max(1, r.n)).toFixed(1).padStart(5) + '%';
console.log('\nTPR (attacks blocked)');
for (const [k, r] of [...byCat].sort()) console.log(`  ${k.padEnd(32)} ${String(r.hit).padStart(5)}/${String(r.n).padEnd(5)} ${pct(r)}`);
for (const [k, r] of [...byPl].sort()) console.log(`  ${k.padEnd(32)} ${String(r.hit).padStart(5)}/${String(r.n).padEnd(5)} ${pct(r)}`);
console.log('\nFPR (benign blocked)');
for (const [k, r] of [...benign].sort()) console.log(`  ${k.padEnd(32)} ${String(r.hit).padStart(5)}/${String(r.n).padEnd(5)} ${pct(r)}`);
console.log('\nFPR on the regression corpus\'s negative tests (expect=allow; many are near misses)');
for (const [k, r] of [...crsAllow].sort()) console.log(`  ${k.padEnd(32)} ${String(r.hit).padStart(5)}/${String(r.n).padEnd(5)} ${pct(r)}`);
if (crsFpList.length) console.log('  blocked:\n    ' + crsFpList.join('\n    '));
console.log('\nSignatures firing on benign requests (any score)');
for (const [id, e] of [...fpSigs].sort((a, b) => b[1].n - a[1].n).slice(0, fpShow)) console.log(`  ${id} x${e.n} ${e.name} — e.g. ${e.sample}`);
if (missList.length) console.log('\nFirst misses:\n  ' + missList.join('\n  '));
if (fpList.length) console.log('\nFirst benign blocks:\n  ' + fpList.join('\n  '));
console.log(`\n${inspected} requests in ${ms.toFixed(0)} ms (${((1000 * ms) / Math.max(1, inspected)).toFixed(0)} µs each)${skipped ? `, ${skipped} records unreadable` : ''}`);
