/**
 * The inspection engine: compiles signatures into per-(paranoia, exclusions) plans grouped by transform chain,
 * evaluates a request view against them (decode chains cached per target, literal automaton first) and decides.
 */

import { WafError } from '../errors.ts';
import type { Exclusion, Match, Mode, ParanoiaLevel, RequestInput, Severity, SignatureOverride, SignatureSpec, Target, Verdict } from '../types.ts';
import { SEVERITY_SCORE } from '../types.ts';
import { compileExclusion, type CompiledExclusion } from './exclusions.ts';
import { compileOperator, type CompiledOperator } from './operators.ts';
import { LiteralMatcher } from './prefilter.ts';
import { buildRequestView, type RequestView, type ViewLimits } from './request-view.ts';
import { excludes, keyMatches, parseSelector, type Selector } from './selectors.ts';
import { transforms, type Transform } from './transforms.ts';

export interface CompileOptions {
  version: number;
  overrides?: Record<number, SignatureOverride>;
  exclusions?: Exclusion[];
  limits?: ViewLimits;
}

export interface InspectContext {
  paranoia: ParanoiaLevel;
  threshold: number;
  mode: Mode;
  site?: string;
  /** Path used for exclusions; defaults to the request's normalised path. */
  path?: string;
  clientIp?: string;
}

export interface CompiledRuleset {
  readonly version: number;
  /** The signatures as they run (overrides applied; disabled ones left out). */
  readonly signatures: readonly SignatureSpec[];
  inspect(input: RequestInput, ctx: InspectContext): Verdict;
  /** Evaluate an already built view (what `inspect` does after `buildRequestView`). */
  inspectView(view: RequestView, ctx: InspectContext): Verdict;
}

/** A signature ready to run. */
export interface CompiledSignature {
  spec: SignatureSpec;
  index: number;
  score: number;
  chain: Transform[];
  chainNames: string[];
  include: Selector[];
  exclude: Selector[];
  op: CompiledOperator;
}

/** Compile one signature (operator, selectors, transforms); throws an Error saying what is wrong. */
export function compileSignature(spec: SignatureSpec, index = 0): CompiledSignature {
  const include: Selector[] = [];
  const exclude: Selector[] = [];
  for (const t of spec.targets) {
    const sel = parseSelector(t);
    (sel.negated ? exclude : include).push(sel);
  }
  if (include.length === 0) throw new Error('no target selected (only negated selectors)');
  const chain = spec.transforms.map((name) => {
    const fn = Object.hasOwn(transforms, name) ? transforms[name] : undefined;
    if (fn === undefined) throw new Error(`unknown transform ${name}`);
    return fn;
  });
  const op = compileOperator(spec.operator, spec.pattern);
  if (!Object.hasOwn(SEVERITY_SCORE, spec.severity)) throw new Error(`unknown severity ${spec.severity}`);
  return { spec, index, score: SEVERITY_SCORE[spec.severity], chain, chainNames: spec.transforms, include, exclude, op };
}

/** One signature inside a plan: its selectors for one collection plus exclusion-added target removals. */
interface PlanSig {
  sig: CompiledSignature;
  /** Index in the group (for the literal automaton's marks). */
  local: number;
  hasLiterals: boolean;
  /** Key filters of the include selectors for this collection (empty: the whole collection). */
  keys: Selector[];
  /** Removed targets: the signature's `!` selectors and exclusion targets. */
  removed: Selector[];
}

interface Group {
  chain: Transform[];
  /** Cache keys of each prefix of the chain (`a`, `a,b`, `a,b,c`). */
  prefixKeys: string[];
  byCollection: Array<[string, PlanSig[]]>;
  matcher: LiteralMatcher | null;
  hit: Uint8Array;
}

interface Plan {
  groups: Group[];
}

const MAX_PLANS = 256;
const EXCERPT = 200;

function accepts(ps: PlanSig, t: Target): boolean {
  if (ps.keys.length > 0) {
    let ok = false;
    for (const k of ps.keys) if (keyMatches(k, t)) { ok = true; break; }
    if (!ok) return false;
  }
  for (const r of ps.removed) if (excludes(r, t)) return false;
  return true;
}

function excerpt(value: string, index: number, length: number): string {
  if (value.length <= EXCERPT) return value;
  const room = Math.max(0, EXCERPT - Math.min(length, EXCERPT));
  const start = Math.max(0, Math.min(index - (room >> 1), value.length - EXCERPT));
  return value.slice(start, start + EXCERPT);
}

function buildPlan(sigs: CompiledSignature[], paranoia: ParanoiaLevel, active: CompiledExclusion[]): Plan {
  const groups = new Map<string, { chain: Transform[]; names: string[]; members: Array<{ sig: CompiledSignature; removed: Selector[] }> }>();
  for (const sig of sigs) {
    if (sig.spec.paranoia > paranoia) continue;
    const removed = [...sig.exclude];
    let dropped = false;
    for (const ex of active) {
      if (!ex.covers(sig.spec)) continue;
      if (ex.target === undefined) { dropped = true; break; }
      removed.push(ex.target);
    }
    if (dropped) continue;
    const key = sig.chainNames.join(',');
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { chain: sig.chain, names: sig.chainNames, members: [] }));
    g.members.push({ sig, removed });
  }
  const out: Group[] = [];
  for (const g of groups.values()) {
    const byCollection = new Map<string, PlanSig[]>();
    const literalEntries: Array<{ owner: number; literals: string[] }> = [];
    g.members.forEach(({ sig, removed }, local) => {
      const lits = sig.op.literals;
      if (lits !== null) literalEntries.push({ owner: local, literals: lits });
      const perCollection = new Map<string, Selector[]>();
      const whole = new Set<string>();
      for (const sel of sig.include) {
        if (sel.key === undefined) whole.add(sel.collection);
        const list = perCollection.get(sel.collection) ?? [];
        list.push(sel);
        perCollection.set(sel.collection, list);
      }
      for (const [coll, sels] of perCollection) {
        const ps: PlanSig = { sig, local, hasLiterals: lits !== null, keys: whole.has(coll) ? [] : sels, removed };
        const list = byCollection.get(coll) ?? [];
        list.push(ps);
        byCollection.set(coll, list);
      }
    });
    out.push({
      chain: g.chain,
      prefixKeys: g.names.map((_, k) => g.names.slice(0, k + 1).join(',')),
      byCollection: [...byCollection],
      matcher: literalEntries.length > 0 ? new LiteralMatcher(literalEntries) : null,
      hit: new Uint8Array(g.members.length),
    });
  }
  return { groups: out };
}

/** The value of a target after a transform chain, computed once per target and chain prefix per request. */
function transformed(cache: Map<Target, Map<string, string>>, t: Target, g: Group): string {
  const n = g.chain.length;
  if (n === 0) return t.value;
  let m = cache.get(t);
  if (m === undefined) cache.set(t, (m = new Map()));
  const full = m.get(g.prefixKeys[n - 1]);
  if (full !== undefined) return full;
  let v = t.value;
  let start = 0;
  for (let k = n - 2; k >= 0; k--) {
    const c = m.get(g.prefixKeys[k]);
    if (c !== undefined) { v = c; start = k + 1; break; }
  }
  for (let k = start; k < n; k++) {
    v = g.chain[k](v).value;
    m.set(g.prefixKeys[k], v);
  }
  return v;
}

function countTargets(view: RequestView, coll: string): Target[] {
  const base = coll.slice(6);
  const n = view.byCollection.get(base)?.length ?? 0;
  return [{ collection: coll, key: '', name: coll, value: String(n) }];
}

/**
 * Compile signatures (+ overrides, exclusions) into a ruleset. Throws WafError WAF_ERR_SIGNATURE_INVALID
 * naming every signature id (or exclusion id) that cannot be compiled, and duplicate ids.
 */
export function compileRuleset(specs: SignatureSpec[], opts: CompileOptions): CompiledRuleset {
  const problems: string[] = [];
  const seen = new Set<number>();
  const compiled: CompiledSignature[] = [];
  const effective: SignatureSpec[] = [];
  for (const raw of specs) {
    if (seen.has(raw.id)) {
      problems.push(`signature ${raw.id}: duplicate id`);
      continue;
    }
    seen.add(raw.id);
    const o = opts.overrides?.[raw.id];
    if (o?.enabled === false) continue;
    const spec: SignatureSpec = o ? { ...raw, paranoia: o.paranoia ?? raw.paranoia, severity: o.severity ?? raw.severity } : raw;
    try {
      compiled.push(compileSignature(spec, compiled.length));
      effective.push(spec);
    } catch (err) {
      problems.push(`signature ${raw.id} (${raw.name}): ${(err as Error).message}`);
    }
  }
  const exclusions: CompiledExclusion[] = [];
  for (const ex of opts.exclusions ?? []) {
    try {
      exclusions.push(compileExclusion(ex));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new WafError('WAF_ERR_SIGNATURE_INVALID', problems.join('\n'), problems);

  const plans = new Map<string, Plan>();
  const limits = opts.limits;
  const version = opts.version;

  function planFor(paranoia: ParanoiaLevel, site: string | undefined, path: string, clientIp: string | undefined): Plan {
    let key = String(paranoia);
    const active: CompiledExclusion[] = [];
    for (let i = 0; i < exclusions.length; i++) {
      if (exclusions[i].appliesTo(site, path, clientIp)) {
        active.push(exclusions[i]);
        key += ',' + i;
      }
    }
    let plan = plans.get(key);
    if (plan === undefined) {
      if (plans.size >= MAX_PLANS) plans.clear();
      plan = buildPlan(compiled, paranoia, active);
      plans.set(key, plan);
    }
    return plan;
  }

  function inspectView(view: RequestView, ctx: InspectContext): Verdict {
    const paranoia = ctx.paranoia;
    const base = { mode: ctx.mode, threshold: ctx.threshold, paranoia, rulesetVersion: version };
    if (ctx.mode === 'off') return { action: 'allow', score: 0, matches: [], findings: [], ...base };
    const path = ctx.path ?? view.byCollection.get('path')?.[0]?.value ?? '/';
    const plan = planFor(paranoia, ctx.site, path, ctx.clientIp);
    const matched = new Uint8Array(compiled.length);
    const cache = new Map<Target, Map<string, string>>();
    const matches: Match[] = [];
    let score = 0;
    for (const g of plan.groups) {
      const hit = g.hit;
      for (const [coll, psigs] of g.byCollection) {
        const targets = coll.startsWith('count:') ? countTargets(view, coll) : view.byCollection.get(coll);
        if (targets === undefined) continue;
        for (const t of targets) {
          let wanted = false;
          for (const ps of psigs) {
            if (matched[ps.sig.index] === 0 && accepts(ps, t)) { wanted = true; break; }
          }
          if (!wanted) continue;
          const v = transformed(cache, t, g);
          let scanned = false;
          for (const ps of psigs) {
            const sig = ps.sig;
            if (matched[sig.index] !== 0 || !accepts(ps, t)) continue;
            if (ps.hasLiterals) {
              if (!scanned) {
                (g.matcher as LiteralMatcher).scan(v, hit);
                scanned = true;
              }
              if (hit[ps.local] === 0) continue;
            }
            const m = sig.op.test(v);
            if (m === null) continue;
            matched[sig.index] = 1;
            score += sig.score;
            const s = sig.spec;
            matches.push({
              id: s.id, name: s.name, family: s.family, severity: s.severity as Severity, paranoia: s.paranoia, score: sig.score,
              target: t.name, value: excerpt(v, m.index, m.matched.length), matched: m.matched.slice(0, EXCERPT),
            });
          }
          if (scanned) hit.fill(0);
        }
      }
    }
    const reached = score >= ctx.threshold && score > 0;
    const action = !reached ? 'allow' : ctx.mode === 'block' ? 'block' : 'detect';
    return { action, score, matches, findings: view.findings, ...base };
  }

  return {
    version,
    signatures: effective,
    inspectView,
    inspect(input, ctx) {
      if (ctx.mode === 'off') return inspectView({ targets: [], findings: [], byCollection: new Map() }, ctx);
      return inspectView(buildRequestView(input, limits), ctx);
    },
  };
}
