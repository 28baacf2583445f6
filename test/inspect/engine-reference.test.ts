// The engine against a reference evaluator: for every request we have (the library's examples, the benign fixtures,
// and encoded variants of both), the signatures the engine reports are exactly those a naive evaluation finds (every
// signature on every target it selects, its transform chain applied step by step, its operator run). The engine's
// shortcuts (literal prefilters, trigger bits, the whitespace lens, shared decode results, covered collections) must
// change how much work is done, never the answer.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { compileRuleset } from '../../src/inspect/engine.ts';
import { compileSignature, type CompiledSignature } from '../../src/inspect/signature.ts';
import { buildRequestView, targetsOf, type RequestView } from '../../src/inspect/request-view.ts';
import { excludes, keyMatches } from '../../src/inspect/selectors.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';
import { exampleToInput } from '../../src/signatures/examples.ts';
import type { ParanoiaLevel, RequestInput, Target } from '../../src/types.ts';

const library = readSignatureFiles(new URL('../../signatures', import.meta.url).pathname).signatures;
const compiled = library.map((s, i) => compileSignature(s, i));

/** Signature ids a naive evaluation matches on a view at a paranoia level. */
function reference(view: RequestView, pl: ParanoiaLevel): number[] {
  const out: number[] = [];
  for (const sig of compiled) if (sig.spec.paranoia <= pl && referenceMatches(sig, view)) out.push(sig.spec.id);
  return out.sort((a, b) => a - b);
}

/** A value after a chain, applied step by step (kept per chain: values repeat across targets and requests). */
const chainResults = new Map<string, Map<string, string>>();
function chained(value: string, sig: CompiledSignature): string {
  const key = sig.chainNames.join(',');
  let m = chainResults.get(key);
  if (m === undefined) chainResults.set(key, (m = new Map()));
  let v = m.get(value);
  if (v === undefined) {
    v = value;
    for (const step of sig.chain) v = step(v).value;
    if (m.size > 100_000) m.clear();
    m.set(value, v);
  }
  return v;
}

function referenceMatches(sig: CompiledSignature, view: RequestView): boolean {
  for (const sel of sig.include) {
    let targets: Target[];
    if (sel.collection.startsWith('count:')) {
      const n = targetsOf(view, sel.collection.slice(6)).length;
      targets = [{ collection: sel.collection, key: '', name: sel.collection, value: String(n) }];
    } else targets = targetsOf(view, sel.collection);
    for (const tg of targets) {
      if (!keyMatches(sel, tg) || sig.exclude.some((x) => excludes(x, tg))) continue;
      if (sig.op.test(chained(tg.value, sig)) !== null) return true;
    }
  }
  return false;
}

// The requests: every example of the library, every benign fixture, and each of those with its query and body
// percent-encoded once more and with some letters upper-cased (so decode steps change values, and later steps run on
// decoded text: what the engine's shortcuts must see through).
const inputs: RequestInput[] = [];
for (const s of library) for (const ex of [...s.examples.match, ...s.examples.pass]) inputs.push(exampleToInput(ex));
const fixtures = new URL('../fixtures/benign/', import.meta.url);
for (const f of readdirSync(fixtures).filter((f) => f.endsWith('.jsonl'))) {
  for (const line of readFileSync(new URL(f, fixtures), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { method?: string; uri: string; headers: Array<[string, string]>; body?: string };
    inputs.push({ method: r.method ?? 'GET', url: r.uri, httpVersion: '1.1', headers: r.headers, body: typeof r.body === 'string' ? Buffer.from(r.body) : null });
  }
}
const encodeAgain = (s: string) => s.replace(/[%\s<>'"]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
const shout = (s: string) => s.replace(/[a-z]{3}/g, (w) => w.toUpperCase());
for (const input of inputs.slice()) {
  const q = input.url.indexOf('?');
  const url = q < 0 ? input.url : input.url.slice(0, q + 1) + encodeAgain(input.url.slice(q + 1));
  const body = input.body === null ? null : Buffer.from(encodeAgain(input.body.toString('latin1')), 'latin1');
  inputs.push({ ...input, url, body });
  inputs.push({ ...input, url: shout(input.url), body: input.body === null ? null : Buffer.from(shout(input.body.toString('latin1')), 'latin1') });
}

// The reference answers, once per request and paranoia level.
const wanted = inputs.map((input) => {
  const view = buildRequestView(input);
  return [reference(view, 1), reference(view, 4)];
});

for (const memo of [0, 8192]) {
  t.test(`the engine reports what a naive evaluation finds (memo ${memo ? 'on' : 'off'}), at PL1 and PL4`, async (t) => {
    const rs = compileRuleset(library, { version: 1, memo });
    let checked = 0;
    let wrong = 0;
    let matched = 0;
    // Twice through, so the memo (when on) answers the second time.
    for (const round of [1, 2]) {
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i];
        for (const [k, pl] of ([1, 4] as ParanoiaLevel[]).entries()) {
          const v = rs.inspect(input, { paranoia: pl, threshold: 1_000_000, mode: 'block' });
          const got = [...new Set(v.matches.map((m) => m.id))].sort((a, b) => a - b);
          const want = wanted[i][k];
          checked++;
          matched += want.length;
          if (got.join() !== want.join()) {
            wrong++;
            if (wrong <= 5) t.fail(`round ${round} PL${pl} ${input.method} ${input.url.slice(0, 100)}: engine ${got} reference ${want}`);
          }
        }
      }
    }
    t.ok(checked > 2000 && matched > 1000, `${checked} (request, paranoia) pairs, ${matched} reference matches`);
    t.equal(wrong, 0);
  });
}
