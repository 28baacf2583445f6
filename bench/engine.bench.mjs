// Engine alone, full signature library at PL1: µs per request for typical requests, and how cost grows with 1×, 2×, 4×
// the library; then the clean-target memo on traffic that repeats like a browser's (headers and cookies the same,
// arguments new on every request). Usage: npm run bench [-- --pl 1 --reps 7 --quick]
// The main tables run with the memo off: every value is evaluated as if never seen (the same request is repeated).
// Figures are the best of several timed batches (wall clock) plus CPU time per request; on a shared, loaded machine
// they are noisy: compare the ratios of one run rather than absolute numbers across runs.
import { fileURLToPath } from 'node:url';

// It runs the built engine (dist/, what `bulwark start` runs): `npm run bench` builds first.
import { compileRuleset } from '../dist/inspect/engine.js';
import { checkSignature, readSignatureFiles } from '../dist/signatures/loader.js';

const argv = process.argv.slice(2);
const opt = (name, d) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const pl = opt('pl', 1);
const reps = opt('reps', 7);
const quick = argv.includes('--quick');

const dir = fileURLToPath(new URL('../signatures', import.meta.url));
const library = readSignatureFiles(dir).signatures.filter((s) => checkSignature(s).length === 0);

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const H = (extra = []) => [
  ['Host', 'shop.example.com'], ['User-Agent', UA], ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.5'], ['Accept-Encoding', 'gzip, deflate, br'], ['Referer', 'https://shop.example.com/products'],
  ['Cookie', 'sessionid=k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8; csrftoken=Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6'], ...extra,
];
const req = (method, url, body, ct) => {
  const b = body === null ? null : Buffer.from(body);
  return { method, url, httpVersion: '1.1', headers: H(b ? [['Content-Type', ct ?? 'application/x-www-form-urlencoded'], ['Content-Length', String(b.length)]] : []), body: b };
};

const words = 'the quick brown fox jumps over a lazy dog while our team selects the best union of ideas for your order today'.split(' ');
const prose = (n) => { let s = ''; let i = 0; while (s.length < n) s += words[i++ % words.length] + ' '; return s.slice(0, n); };
const form2k = (() => {
  const fields = ['csrfmiddlewaretoken=Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6', 'first_name=Anne', "last_name=O'Brien", 'email=anne%40example.com', 'phone=%2B44+20+7946+0958', 'street=221B+Baker+Street', 'city=London', 'zip=NW1+6XE', 'country=GB', 'newsletter=on'];
  let body = fields.join('&') + '&comment=';
  body += encodeURIComponent(prose(2048 - body.length)).slice(0, 2048 - body.length);
  return body;
})();
const jsonDoc = (bytes) => {
  const items = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const item = { id: i, sku: `SKU-${100000 + i}`, name: `Item ${i} ${words[i % words.length]}`, price: (i * 3.7).toFixed(2), tags: ['new', words[(i * 7) % words.length]], note: prose(60 + (i % 40)), active: i % 3 !== 0 };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return JSON.stringify({ order: { customer: 'Anne', items } });
};

const cases = [
  ['GET, 5 query args', req('GET', '/products/search?q=blue+running+shoes&category=sport&page=2&sort=price_asc&size=42', null)],
  ['POST 2 KB form', req('POST', '/checkout/address/', form2k)],
  ['POST 10 KB JSON', req('POST', '/api/orders', jsonDoc(10 * 1024), 'application/json')],
  ['attack: GET SQLi', req('GET', "/products?id=1'+UNION+SELECT+username,password+FROM+auth_user--", null)],
  ['attack: 2 KB form XSS', req('POST', '/comments/', form2k.replace('comment=', 'comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E'))],
  ['attack: JSON RCE', req('POST', '/api/run', JSON.stringify({ host: '127.0.0.1; cat /etc/passwd', note: prose(500) }), 'application/json')],
];
if (!quick) cases.push(['POST 1 MB JSON', req('POST', '/api/import', jsonDoc(1024 * 1024), 'application/json')]);

function scaled(k) {
  const out = [];
  for (let c = 0; c < k; c++) for (const s of library) out.push(c === 0 ? s : { ...s, id: s.id + c * 1_000_000 });
  return out;
}

function measure(rs, input) {
  const ctx = { paranoia: pl, threshold: 5, mode: 'block' } ;
  const t0 = performance.now();
  rs.inspect(input, ctx);
  const once = performance.now() - t0;
  const n = Math.max(1, Math.min(2000, Math.floor(50 / Math.max(once, 0.001))));
  for (let i = 0; i < Math.min(n, 200); i++) rs.inspect(input, ctx); // warm up
  let best = Infinity;
  const c0 = process.cpuUsage();
  let total = 0;
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    for (let i = 0; i < n; i++) rs.inspect(input, ctx);
    best = Math.min(best, (performance.now() - s) / n);
    total += n;
  }
  const c = process.cpuUsage(c0);
  return { best: best * 1000, cpu: (c.user + c.system) / total };
}

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log(`engine bench: ${library.length} signatures, PL${pl}, best of ${reps} batches (wall) / CPU per request`);
const sizes = quick ? [1] : [1, 2, 4];
const results = new Map();
for (const k of sizes) {
  const rs = compileRuleset(scaled(k), { version: 1, memo: 0 });
  console.log(`\nlibrary ×${k} (${library.length * k} signatures)`);
  // Warm every case first (about 1 s): the JIT settles before anything is timed, not during the first case.
  const warmCtx = { paranoia: pl, threshold: 5, mode: 'block' };
  for (const end = performance.now() + 1000; performance.now() < end; ) for (const [, input] of cases) if (input.body === null || input.body.length < 100_000) rs.inspect(input, warmCtx);
  for (const [name, input] of cases) {
    const m = measure(rs, input);
    (results.get(name) ?? results.set(name, []).get(name)).push(m.best);
    console.log(`  ${name.padEnd(26)} ${fmt(m.best).padStart(10)}   cpu ${fmt(m.cpu).padStart(10)}`);
  }
}
if (sizes.length > 1) {
  console.log('\ngrowth (best wall time relative to ×1)');
  for (const [name, list] of results) console.log(`  ${name.padEnd(26)} ${list.map((v) => (v / list[0]).toFixed(2) + '×').join('  ')}`);
}

// The memo (config inspection.memo) on 2,000 distinct requests: the same browser headers and cookies, query arguments
// and form fields that differ from one request to the next (one of five GET arguments, two of eleven form fields).
{
  const kinds = ['blue', 'red', 'trail', 'running', 'leather', 'summer', 'kids', 'wool', 'sale', 'classic', 'waterproof'];
  const gets = [];
  const forms = [];
  // JSON documents whose every string differs from other requests' (a per-request suffix); values repeat inside one.
  const docs = [];
  const doc = JSON.parse(jsonDoc(10 * 1024));
  const suffixed = (x, sfx) => (typeof x === 'string' ? `${x} ${sfx}` : Array.isArray(x) ? x.map((y) => suffixed(y, sfx)) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, suffixed(v, sfx)])) : x);
  for (let i = 0; i < 200; i++) docs.push(req('POST', '/api/orders', JSON.stringify(suffixed(doc, `r${i}`)), 'application/json'));
  for (let i = 0; i < 2000; i++) {
    gets.push(req('GET', `/products/search?q=${kinds[i % 11]}+${kinds[(i * 7) % 11]}+shoes+${i}&category=sport&page=${1 + (i % 9)}&sort=price_asc&size=${36 + (i % 11)}`, null));
    forms.push(req('POST', '/checkout/address/', form2k.replace('first_name=Anne', `first_name=Anne${i}`).replace('comment=', `comment=order+${i}+`)));
  }
  const ctx = { paranoia: pl, threshold: 5, mode: 'block' };
  // Node's HTTP parser hands every request its own new strings (V8 then hashes and compares each one afresh), while
  // the lists above share header strings between requests. Each timed request is therefore given fresh copies of
  // its URL and headers, and the time of making those copies alone is subtracted.
  const copy = (s) => Buffer.from(s, 'latin1').toString('latin1');
  const fresh = (x) => ({ ...x, url: copy(x.url), headers: x.headers.map(([k, v]) => [copy(k), copy(v)]) });
  const sink = [];
  const timeOf = (f, list) => {
    f(list[0]);
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const s = performance.now();
      for (const x of list) f(x);
      best = Math.min(best, (performance.now() - s) / list.length);
    }
    return best * 1000;
  };
  const copyCost = (list) => timeOf((x) => { sink[0] = fresh(x); }, list);
  const batch = (rs, list) => {
    for (const x of list) rs.inspect(fresh(x), ctx);
    return timeOf((x) => rs.inspect(fresh(x), ctx), list) - copyCost(list);
  };
  const off = compileRuleset(library, { version: 1, memo: 0 });
  const on = compileRuleset(library, { version: 1 });
  console.log('\nclean-target memo: 2,000 distinct GETs and forms (browser headers and cookies repeat, arguments vary), 200 JSON documents (no string value shared between them); URL and headers fresh strings per request, as from the HTTP parser');
  for (const [name, list] of [['GET, 5 query args', gets], ['POST 2 KB form', forms], ['POST 10 KB JSON', docs]]) {
    const a = batch(off, list);
    const b = batch(on, list);
    console.log(`  ${name.padEnd(26)} memo off ${fmt(a).padStart(10)}   memo on ${fmt(b).padStart(10)}   ${(a / b).toFixed(1)}× faster`);
  }
  // Inside the proxy the engine runs right after the HTTP stack, which has evicted most of its data from the CPU's
  // caches. The same requests with the caches emptied before each one (a 16 MB buffer written over, not timed):
  // what the engine's working set costs when it must be fetched again, the part of the server's figure a loop hides.
  const junk = new Uint8Array(16 << 20);
  const cold = (rs, list) => {
    let best = Infinity;
    for (let r = 0; r < Math.min(reps, 3); r++) {
      let total = 0;
      for (const x of list) {
        const q = fresh(x);
        for (let k = 0; k < junk.length; k += 64) junk[k]++;
        const t = performance.now();
        rs.inspect(q, ctx);
        total += performance.now() - t;
      }
      best = Math.min(best, total / list.length);
    }
    return best * 1000;
  };
  console.log('\nthe same, memo on, CPU caches emptied before each request (16 MB written over, not timed)');
  for (const [name, list] of [['GET, 5 query args', gets], ['POST 2 KB form', forms]]) {
    const warm = batch(on, list);
    const c = cold(on, list);
    console.log(`  ${name.padEnd(26)} warm ${fmt(warm).padStart(10)}   cold ${fmt(c).padStart(10)}   +${fmt(c - warm)}`);
  }
}
