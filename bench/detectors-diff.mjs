// Differential check: the detectors in dist/ must decide exactly like a reference build of the same files.
//
//   npm run build && node bench/detectors-diff.mjs [--ref DIR] [--fuzz N] [--seed S]
//
// DIR holds the reference build of the four detector files (default: /tmp/det-orig). To make it from a commit
// (6f33dac: the detectors before the speed work), compile just those files:
//   mkdir -p /tmp/det-orig/src && for f in sqli sqli-tokenizer xss html-tokenizer; do
//     git show 6f33dac:src/inspect/detectors/$f.ts > /tmp/det-orig/src/$f.ts; done
//   npx tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --allowImportingTsExtensions \
//     --rewriteRelativeImportExtensions --skipLibCheck --types node --outDir /tmp/det-orig /tmp/det-orig/src/sqli.ts /tmp/det-orig/src/xss.ts
// Inputs: every target value (all collections, raw and through the 942100/941100 transform chains, also
// lower-cased) of the efficacy corpora and the benign fixtures, the signature examples, every string literal
// of the test files, and seeded random SQL/HTML token soups. Compared: null vs non-null and `matched`
// (and `reason`, reported separately). Exits 1 on any difference.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const REF = opt('--ref', '/tmp/det-orig');
const FUZZ = Number(opt('--fuzz', '300000'));

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const { buildRequestView } = await dist('inspect/request-view.js');
const { applyTransforms } = await dist('inspect/transforms.js');
const NEW = { sqli: (await dist('inspect/detectors/sqli.js')).detectSqli, xss: (await dist('inspect/detectors/xss.js')).detectXss };
const OLD = { sqli: (await import(pathToFileURL(join(REF, 'sqli.js')).href)).detectSqli, xss: (await import(pathToFileURL(join(REF, 'xss.js')).href)).detectXss };

const inputs = new Set();
const add = (s) => { if (typeof s === 'string') { inputs.add(s); inputs.add(s.toLowerCase()); } };
const CHAINS = [
  ['url_decode_uni', 'js_decode', 'html_entity_decode', 'unicode_normalize', 'remove_nulls'],
  ['url_decode_uni', 'html_entity_decode', 'js_decode', 'unicode_normalize'],
  ['url_decode_uni', 'html_entity_decode', 'unicode_normalize'],
];

function addRequest(r) {
  const body = r.body ? Buffer.from(r.body, r.body_base64 ? 'base64' : 'utf8') : null;
  let view;
  try {
    view = buildRequestView({ method: r.method ?? 'GET', url: r.uri, httpVersion: (r.version ?? 'HTTP/1.1').replace('HTTP/', ''), headers: r.headers ?? [], body });
  } catch { return; }
  for (const target of view.targets) {
    add(target.value);
    for (const chain of CHAINS) { try { add(applyTransforms(target.value, chain)); } catch { /* skip */ } }
  }
}

function readJsonl(file) {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

const counts = {};
const CORPUS = join(ROOT, '..', 'shared', 'efficacy', 'corpus');
for (const f of ['crs.jsonl', 'benign-dmoz.jsonl']) {
  const p = join(CORPUS, f);
  if (!existsSync(p)) { console.error(`missing ${p}`); process.exit(2); }
  const before = inputs.size;
  for (const r of readJsonl(p)) addRequest(r);
  counts[f] = inputs.size - before;
}
{
  const dir = join(ROOT, 'test', 'fixtures', 'benign');
  const before = inputs.size;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) for (const r of readJsonl(join(dir, f))) addRequest(r);
  counts['benign fixtures'] = inputs.size - before;
}
{
  const before = inputs.size;
  const dir = join(ROOT, 'signatures');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const doc = YAML.parse(readFileSync(join(dir, f), 'utf8'));
    for (const s of doc?.signatures ?? []) {
      for (const ex of [...(s.examples?.match ?? []), ...(s.examples?.pass ?? [])]) {
        const r = typeof ex === 'string' ? { uri: ex } : { ...ex, headers: Object.entries(ex.headers ?? {}) };
        if (r.uri) addRequest(r);
        add(r.body);
        if (typeof ex === 'string') add(ex);
      }
    }
  }
  counts['signature examples'] = inputs.size - before;
}
{
  // Every string literal in the tests (detector cases, transform cases, evasion payloads...).
  const before = inputs.size;
  const walkDir = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walkDir(p);
      else if (e.name.endsWith('.ts')) {
        const sf = ts.createSourceFile(p, readFileSync(p, 'utf8'), ts.ScriptTarget.Latest, false);
        const visit = (n) => {
          if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) add(n.text);
          ts.forEachChild(n, visit);
        };
        visit(sf);
      }
    }
  };
  walkDir(join(ROOT, 'test'));
  const cases = join(ROOT, 'test', 'fixtures', 'transforms', 'cases.json');
  JSON.stringify(JSON.parse(readFileSync(cases, 'utf8')), (_k, v) => { add(v); return v; });
  counts['test literals'] = inputs.size - before;
}
{
  // Seeded token soups: random sequences of SQL, HTML and JS fragments, to reach paths no corpus does.
  const before = inputs.size;
  let seed = Number(opt('--seed', '12345'));
  const rnd = (n) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; }; // xorshift32
  const FRAG = ["'", '"', '`', ' ', '  ', '\t', '\n', '1', '0', '-1', '0x1f', '1.5e3', '.5', 'or', 'OR', 'and', 'xor', '||', '&&', 'not', '!',
    '=', '<>', '!=', '<=>', '<', '>', 'like', 'in', 'is', 'between', 'null', 'true', 'select', 'SELECT', 'union', 'all', 'from', 'where',
    'order', 'by', 'group', 'having', 'limit', 'offset', 'into', 'outfile', 'waitfor', 'delay', 'exec', 'xp_cmdshell', 'drop', 'table',
    'insert', 'update', 'set', 'delete', 'declare', '@a', '@@version', 'sleep', 'sleep(5)', 'pg_sleep', 'benchmark', 'char', 'concat',
    'user', 'version()', '(', ')', ',', ';', '.', '--', '-- -', '#', '/*', '*/', '/*!50000', '*', '+', '-', '/', '%', '::', '->>', 'a',
    'x', 'admin', 'users', 'password', 'n', "n'", '_utf8', 'o\'brien', 'the', 'union representative', 'case', 'when', 'then', 'end',
    'if', 'shutdown', 'procedure', 'analyse', 'collate', 'sounds', 'isnull', 'div', 'mod', '\\', '\\\'', "''", '""', 'éa', '\u00a0',
    '<', '>', '<script>', '</script>', '<img', ' src=x', ' onerror=', 'alert(1)', 'javascript:', 'data:text/html,', '&#x6a;', '&colon;',
    '<svg', ' onload=', 'href=', '"><', "'-", "');", 'document.cookie', '{{', '}}', 'constructor', '${', 'eval(', '<style>', 'expression(',
    '<iframe', '<meta', ' http-equiv=refresh', '<!--', '-->', '<a', '</a>', '<b>', 'on', 'onfocus', 'autofocus', '=', '&', '&amp;', '[', ']',
    ';', '; ', '/**/', '*/(', '(5)', '#\n', '--\n', 'dbms_lock.sleep', 'select.x', 'selects', 'waitfor delay', "'0:0:5'", 'İ', 'K'];
  for (let i = 0; i < FUZZ; i++) {
    const n = 1 + rnd(12);
    // Half start like a value breaking out of a literal (`x'`, `1"`, `1 `), so the SQL paths after the break-out are reached.
    const LEADS = ["x'", "1'", '1"', 'a"', '1 ', '-1 ', "'", '1)', "x')", 'admin'];
    let s = rnd(2) ? LEADS[rnd(LEADS.length)] : '';
    for (let k = 0; k < n; k++) s += FRAG[rnd(FRAG.length)] + (rnd(3) === 0 ? ' ' : '');
    inputs.add(s);
  }
  counts['fuzz'] = inputs.size - before;
}

// The SQL tokenizers too, when both builds have one: the same tokens from each start (numeric, after ' and after ").
const OLD_TZ = (await import(pathToFileURL(join(REF, 'sqli-tokenizer.js')).href)).SqlTokenizer;
const NEW_TZ = (await dist('inspect/detectors/sqli-tokenizer.js')).SqlTokenizer;
let tokenStreams = 0;
let tokenDiffer = 0;
const tokenKey = (t) => t && `${t.type}|${t.text}|${t.start}|${t.end}|${!!t.open}|${!!t.spaced}`;
if (OLD_TZ && NEW_TZ) {
  for (const s of inputs) {
    const src = s.length > 4096 ? s.slice(0, 4096) : s;
    for (const quote of [0, 39, 34]) {
      const a = new OLD_TZ(src, 0, quote);
      const b = new NEW_TZ(src, 0, quote);
      tokenStreams++;
      for (let n = 0; n < 200; n++) {
        const x = tokenKey(a.next());
        const y = tokenKey(b.next());
        if (x !== y) { tokenDiffer++; if (tokenDiffer <= 5) console.log(`token stream differs (quote ${quote}) ${JSON.stringify(src).slice(0, 120)}: ${x} vs ${y}`); break; }
        if (!x) break;
      }
    }
  }
}

let compared = 0;
let differ = 0;
let reasonDiffer = 0;
const hits = { sqli: 0, xss: 0 };
const show = [];
for (const s of inputs) {
  for (const k of ['sqli', 'xss']) {
    const a = OLD[k](s);
    const b = NEW[k](s);
    compared++;
    if (a) hits[k]++;
    if ((a === null) !== (b === null) || (a && b && a.matched !== b.matched)) {
      differ++;
      if (show.length < 20) show.push(`${k} ${JSON.stringify(s).slice(0, 200)}\n  old: ${JSON.stringify(a)}\n  new: ${JSON.stringify(b)}`);
    } else if (a && b && a.reason !== b.reason) {
      reasonDiffer++;
      if (show.length < 20) show.push(`${k} (reason only) ${JSON.stringify(s).slice(0, 200)}\n  old: ${a.reason}\n  new: ${b.reason}`);
    }
  }
}
console.log(`inputs by source (distinct, new): ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`${inputs.size} distinct inputs, ${compared} detector calls compared; reference detections: sqli ${hits.sqli}, xss ${hits.xss}`);
console.log(`decision/matched differences: ${differ}; reason-only differences: ${reasonDiffer}`);
console.log(`SQL token streams compared: ${tokenStreams} (first 200 tokens each), differing: ${tokenDiffer}`);
for (const l of show) console.log(l);
process.exit(differ || reasonDiffer || tokenDiffer ? 1 : 0);
