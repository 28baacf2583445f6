/**
 * The inspection engine: compiles signatures into per-(paranoia, exclusions) plans grouped by transform chain,
 * evaluates a request view against them (work done once per distinct string of the request: trigger bits and literal
 * marks in one scan, decode steps only where the value has their trigger characters, chains that would only remove
 * whitespace seen through the whitespace lens; a signature's regex runs only when its literals occur) and decides.
 */

import { WafError } from '../errors.ts';
import type { Exclusion, Match, Mode, ParanoiaLevel, RequestInput, Severity, SignatureOverride, SignatureSpec, Target, Verdict } from '../types.ts';
import { CleanMemo } from './clean-memo.ts';
import { emptyTemplate, learnPart, templateName, TEMPLATE_PARTS, TEMPLATES_MAX, type PartTemplate } from './part-templates.ts';
import { compileExclusion, type CompiledExclusion } from './exclusions.ts';
import { blockFingerprint, HeaderBlockMemo, type HeaderLines } from './header-block-memo.ts';
import type { LiteralMatcher } from './literal-matcher.ts';
import { buildRequestView, PATH_LINE, REQUEST_LINE, type LineKind, type PartKind, type RequestView, type ViewGate, type ViewLimits } from './request-view.ts';
import { accepts, buildPlan, NARROW_MAX, notRemoved, type EntryList, type Group, type Numbering, type Plan, type PlanSig } from './plan.ts';
import { MAX_COLLECTIONS, MAX_LISTS, memoCounted, memoPaused, memoPays, memoWhere, partSlot, partWhere } from './plan-memo.ts';
import { evaluatedBefore, evaluatedIn, lensPoint, seenOf, transformed, type Seen, type SeenCache } from './seen.ts';
import { compileSignature, type CompiledSignature } from './signature.ts';
import { ASCII_BITS, ASCII_WS, finishTriggers, T_NONASCII, T_WS, valueTriggers } from './triggers.ts';

export interface CompileOptions {
  version: number;
  overrides?: Record<number, SignatureOverride>;
  exclusions?: Exclusion[];
  limits?: ViewLimits;
  /**
   * Entries per generation of the clean-target memo (see CleanMemo); 0 turns it off. Default MEMO_ENTRIES.
   */
  memo?: number;
  /** How to compile one signature (default compileSignature); the async compile passes its cached one. */
  compileSignature?: (spec: SignatureSpec, index: number) => CompiledSignature;
  /**
   * Lists (a collection, or a key of one) with at most this many signatures with literals scan with their own automaton
   * (see `EntryList.narrow`); 0: every value is scanned with the plan's. Default NARROW_MAX.
   */
  narrow?: number;
  /** Called with each view `inspect` builds, before it is evaluated (tests: what the memo's gate left out). */
  observeView?: (view: RequestView) => void;
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

/**
 * What a ruleset was compiled from, as plain data (no functions): enough to compile the same ruleset again elsewhere
 * (the inspection thread compiles its own copy from it). `warm`: the contexts whose plans the async compile built.
 */
export interface RulesetSource {
  specs: SignatureSpec[];
  options: Pick<CompileOptions, 'version' | 'overrides' | 'exclusions' | 'limits' | 'memo' | 'narrow'>;
  warm?: Array<{ paranoia: ParanoiaLevel; site?: string; path?: string }>;
}

export interface CompiledRuleset {
  readonly version: number;
  readonly source: RulesetSource;
  /** The signatures as they run (overrides applied; disabled ones left out). */
  readonly signatures: readonly SignatureSpec[];
  inspect(input: RequestInput, ctx: InspectContext): Verdict;
  /** Evaluate an already built view (what `inspect` does after `buildRequestView`). */
  inspectView(view: RequestView, ctx: InspectContext): Verdict;
}

/**
 * The parts of one request (by kind) the clean-target memo knew but the template did not hold at their place: what the
 * template learns when the request is clean. Reused by every request (its arrays are emptied, not made again).
 */
class KnownParts {
  readonly text: string[] = [];
  readonly start: number[] = [];
  readonly end: number[] = [];
  readonly at: number[] = [];
  readonly name: string[] = [];
  size = 0;
  push(text: string, start: number, end: number, at: number, name: string): void {
    const i = this.size++;
    this.text[i] = text;
    this.start[i] = start;
    this.end[i] = end;
    this.at[i] = at;
    this.name[i] = name;
  }
  clear(): void {
    // The texts are let go (a body must not stay alive until the next request with parts).
    for (let i = 0; i < this.size; i++) this.text[i] = '';
    this.size = 0;
  }
}

/** Targets whose key and value together are longer than this are not remembered by the clean-target memo. */
const MEMO_MAX_CHARS = 256;
const MEMO_ENTRIES = 8192;

/** Plans kept per ruleset (by paranoia level and active exclusions); past it they are dropped and built again. */
const MAX_PLANS = 256;
/** Characters of a matched value kept in its match (around the matched part). */
const EXCERPT = 200;
const NO_MARKS: number[] = [];

/** Sort a short list of numbers in place (insertion sort: no comparator call, no allocation). */
function sortSmall(a: number[]): void {
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

function excerpt(value: string, index: number, length: number): string {
  if (value.length <= EXCERPT) return value;
  const room = Math.max(0, EXCERPT - Math.min(length, EXCERPT));
  const start = Math.max(0, Math.min(index - (room >> 1), value.length - EXCERPT));
  return value.slice(start, start + EXCERPT);
}

function countTargets(view: RequestView, coll: string, base: string): Target[] {
  const n = (view.byCollection.get(base)?.length ?? 0) + (view.leftOut?.[base] ?? 0);
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
  const compileOne = opts.compileSignature ?? compileSignature;
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
      compiled.push(compileOne(spec, compiled.length));
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
  const scanHit = new Uint8Array(compiled.length);
  const matchedBuf = new Uint8Array(compiled.length);
  const testedWords = (compiled.length + 31) >> 5;
  const scanHit2 = new Uint8Array(compiled.length);
  const ids: Numbering = { chains: new Map(), steps: new Map() };
  const limits = opts.limits;
  const version = opts.version;
  const memo = (opts.memo ?? MEMO_ENTRIES) > 0 ? new CleanMemo(opts.memo ?? MEMO_ENTRIES) : null;
  // Header blocks are longer than targets: fewer of them (at most 2 × cap × BLOCK_MAX_CHARS characters).
  const blockMemo = memo !== null ? new HeaderBlockMemo(Math.max(64, (opts.memo ?? MEMO_ENTRIES) >> 3)) : null;

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
      plan = buildPlan(compiled, paranoia, active, ids, opts.narrow ?? NARROW_MAX);
      plans.set(key, plan);
    }
    return plan;
  }

  /** The fingerprint to look a header block up under for this plan, or -1 (no header collections, memo paused, too large). */
  function blockKey(plan: Plan, lines: HeaderLines): number {
    return plan.anyHeaders && memoPays(plan, plan.collections.length) ? blockFingerprint(lines) : -1;
  }

  // The gate `inspect` gives the view builder: it picks the plan from the decoded path, asks the block memo whether that
  // plan knows the header block clean (the view then leaves the header targets out), then the memo for each query and
  // form part. Inspection is synchronous, so one scratch record carries the context in and the plan and the block's
  // fingerprint (on a miss) out.
  const gs: { ctx: InspectContext | null; plan: Plan | null; key: number; path: string } = { ctx: null, plan: null, key: -1, path: '' };
  // Per kind (query, form): the plan's template for this path (null: not looked up yet in this request), and the parts
  // the memo (not the template) knew clean, for the template to learn if the request is clean.
  const tpl: Array<PartTemplate | undefined | null> = [null, null];
  const memoKnown: KnownParts[] = [new KnownParts(), new KnownParts()];
  const gate: ViewGate = {
    headers(path, lines) {
      const ctx = gs.ctx as InspectContext;
      gs.path = ctx.path ?? path;
      const plan = (gs.plan = planFor(ctx.paranoia, ctx.site, gs.path, ctx.clientIp));
      const key = blockKey(plan, lines);
      if (key < 0) return false;
      const hit = (blockMemo as HeaderBlockMemo).has(key, lines, plan.id);
      memoCounted(plan, plan.collections.length, hit);
      if (!hit) gs.key = key;
      return hit;
    },
    part(kind, text, start, end, at) {
      const plan = gs.plan as Plan;
      const slot = partSlot(plan, kind);
      if (end - start > MEMO_MAX_CHARS) return null;
      // The part this path's template holds at this place: one compare in place.
      let t = tpl[kind];
      if (t === null) t = tpl[kind] = plan.partTemplates[kind]?.get(gs.path);
      if (t !== undefined) {
        const name = templateName(t, at, text, start, end);
        if (name !== null) {
          memoCounted(plan, slot, true);
          return name;
        }
      }
      if (!memoPays(plan, slot)) return null;
      const name = (memo as CleanMemo).partName(text, start, end, partWhere(plan, kind));
      memoCounted(plan, slot, name !== null);
      if (name !== null && at < TEMPLATE_PARTS) memoKnown[kind].push(text, start, end, at, name);
      return name;
    },
    line(kind, text) {
      const plan = gs.plan as Plan;
      const slot = partSlot(plan, kind);
      if (text.length > MEMO_MAX_CHARS || !memoPays(plan, slot)) return false;
      const hit = (memo as CleanMemo).has(text, partWhere(plan, kind));
      memoCounted(plan, slot, hit);
      return hit;
    },
  };

  // Templates kept across plans (see TEMPLATES_MAX); plans dropped with theirs still count until the next reset.
  let templates = 0;
  /** The template of this plan, kind and path to learn into, made when there is none. */
  function templateToLearn(plan: Plan, kind: PartKind, path: string): PartTemplate {
    let t = plan.partTemplates[kind]?.get(path);
    if (t !== undefined) return t;
    if (templates >= TEMPLATES_MAX) {
      for (const p of plans.values()) p.partTemplates.length = 0;
      templates = 0;
    }
    t = emptyTemplate();
    (plan.partTemplates[kind] ??= new Map()).set(path, t);
    templates++;
    return t;
  }

  function rememberLine(plan: Plan, kind: LineKind, text: string | undefined): void {
    if (text !== undefined && text.length <= MEMO_MAX_CHARS && !memoPaused(plan, partSlot(plan, kind))) (memo as CleanMemo).add(text, partWhere(plan, kind));
  }

  function inspectView(view: RequestView, ctx: InspectContext): Verdict {
    return evaluate(view, ctx, false, null, -1);
  }

  /**
   * Evaluate a view. `gated`: the view was built with `gate`, which picked `gatePlan` and, on a miss, the header block's
   * fingerprint; else the header block is looked up here (its targets are in the view, its collections are skipped on a hit).
   */
  function evaluate(view: RequestView, ctx: InspectContext, gated: boolean, gatePlan: Plan | null, gateKey: number): Verdict {
    const paranoia = ctx.paranoia;
    const base = { mode: ctx.mode, threshold: ctx.threshold, paranoia, rulesetVersion: version };
    if (ctx.mode === 'off') return { action: 'allow', score: 0, matches: [], findings: [], ...base };
    const plan = gatePlan ?? planFor(paranoia, ctx.site, ctx.path ?? view.byCollection.get('path')?.[0]?.value ?? '/', ctx.clientIp);
    // Shared by every call (inspection is synchronous): the entries this request sets are cleared before it returns.
    const matched = matchedBuf;
    const cache: SeenCache = { byValue: new Map(), byLength: new Map() };
    const lits = plan.literals;
    /** The signatures whose literals occur in a string: one scan per distinct string per request. */
    /** The marks a scan pushed on `marked`, with their `scanHit` flags cleared. */
    const marksFrom = (marked: number[]): number[] => {
      if (marked.length === 0) return NO_MARKS;
      for (let k = 0; k < marked.length; k++) scanHit[marked[k]] = 0;
      if (marked.length > 1) sortSmall(marked);
      return marked;
    };
    // The automaton of the list the current target uses, when it has its own (EntryList.narrow): every scan of its
    // values and of what its chains make goes there, and its marks are kept apart (Seen.nMarks).
    let narrow: LiteralMatcher | null = null;
    const narrowScan = (vs: Seen, both: boolean): void => {
      const m = narrow as LiteralMatcher;
      const marked: number[] = [];
      if (both) {
        const marked2: number[] = [];
        m.scanTwoWays(vs.value, scanHit, marked, ASCII_BITS, T_NONASCII, ASCII_WS, scanHit2, marked2);
        for (let k = 0; k < marked2.length; k++) scanHit2[marked2[k]] = 0;
        if (marked2.length > 1) sortSmall(marked2);
        vs.nWsMarks = marked2.length === 0 ? NO_MARKS : marked2;
      } else {
        m.scanWithBits(vs.value, scanHit, marked, ASCII_BITS, T_NONASCII);
        vs.nWsMarks = null;
      }
      vs.nMarks = marksFrom(marked);
      vs.nOf = m;
      if (vs.bits < 0) vs.bits = finishTriggers(vs.value, m.charBits);
    };
    const narrowMarksOf = (vs: Seen, withoutWs: boolean): number[] => {
      if (vs.nOf === narrow) {
        if (!withoutWs) return vs.nMarks as number[];
        if (vs.nWsMarks !== null) return vs.nWsMarks;
      }
      if (vs.caseOf !== null) return narrowMarksOf(vs.caseOf, withoutWs);
      narrowScan(vs, withoutWs || (plan.wsLens && vs.bits >= 0 && (vs.bits & (T_WS | T_NONASCII)) === T_WS));
      return withoutWs ? (vs.nWsMarks as number[]) : (vs.nMarks as number[]);
    };
    const marksOf = (vs: Seen): number[] => {
      if (narrow !== null) return narrowMarksOf(vs, false);
      if (vs.marks !== null) return vs.marks;
      if (vs.caseOf !== null) return (vs.marks = marksOf(vs.caseOf));
      if (lits === null) return (vs.marks = NO_MARKS);
      // A made value with whitespace, where a lens chain may want its marks without whitespace: both in one pass.
      if (plan.wsLens && vs.bits >= 0 && (vs.bits & (T_WS | T_NONASCII)) === T_WS) return scanBoth(vs, false);
      const marked: number[] = [];
      lits.scan(vs.value, scanHit, marked);
      return (vs.marks = marksFrom(marked));
    };
    /** Marks, marks without whitespace (wsMarks) and trigger bits of a string, in one pass; returns one of the marks. */
    const scanBoth = (vs: Seen, withoutWs: boolean): number[] => {
      const marked: number[] = [];
      const marked2: number[] = [];
      (lits as LiteralMatcher).scanTwoWays(vs.value, scanHit, marked, ASCII_BITS, T_NONASCII, ASCII_WS, scanHit2, marked2);
      for (let k = 0; k < marked2.length; k++) scanHit2[marked2[k]] = 0;
      if (marked2.length > 1) sortSmall(marked2);
      vs.wsMarks = marked2.length === 0 ? NO_MARKS : marked2;
      if (vs.bits < 0) vs.bits = finishTriggers(vs.value, (lits as LiteralMatcher).charBits);
      if (vs.marks === null) vs.marks = marksFrom(marked);
      else for (let k = 0; k < marked.length; k++) scanHit[marked[k]] = 0;
      return withoutWs ? vs.wsMarks : vs.marks;
    };
    /** The marks of an ASCII string with its whitespace removed (a lens point). */
    const wsMarksOf = (vs: Seen): number[] => {
      if (narrow !== null) return narrowMarksOf(vs, true);
      if (vs.wsMarks !== null) return vs.wsMarks;
      if (vs.caseOf !== null) return (vs.wsMarks = wsMarksOf(vs.caseOf));
      return scanBoth(vs, true);
    };
    /** Trigger bits from a literal scan, which also leaves the marks (and, `withWs`, the marks without whitespace). */
    const bitsByScan = (vs: Seen, withWs: boolean): number => {
      if (withWs) {
        scanBoth(vs, false);
        return vs.bits;
      }
      const marked: number[] = [];
      (lits as LiteralMatcher).scanWithBits(vs.value, scanHit, marked, ASCII_BITS, T_NONASCII);
      vs.marks = marksFrom(marked);
      return (vs.bits = finishTriggers(vs.value, (lits as LiteralMatcher).charBits));
    };
    /**
     * A raw value's trigger bits, with its literal marks in the same pass when the list can use them (and the marks
     * without whitespace, for the chains that only remove it here).
     */
    const bitsOf = (vs: Seen, list: EntryList): number => {
      if (vs.bits >= 0) return vs.bits;
      if (narrow !== null && list.anyLit && vs.caseOf === null) {
        narrowScan(vs, list.wsLens);
        return vs.bits;
      }
      if (lits === null || !list.anyLit || vs.marks !== null || vs.caseOf !== null) return (vs.bits = valueTriggers(vs.value));
      return bitsByScan(vs, list.wsLens);
    };
    /**
     * The trigger bits of a value a step made, for the next steps. Where the group has signatures with literals, the
     * value is likely the chain's result, whose marks they want: the marks (and without whitespace) come in the same
     * pass. A value a later step changes again wastes that scan (a value encoded twice, or in two ways).
     */
    const bitsOfMade = (vs: Seen, g: Group): number => {
      if (vs.bits >= 0) return vs.bits;
      if (narrow !== null && g.anyLit && vs.caseOf === null) {
        narrowScan(vs, plan.wsLens);
        return vs.bits;
      }
      if (lits === null || !g.anyLit || vs.marks !== null || vs.caseOf !== null) return (vs.bits = valueTriggers(vs.value));
      return bitsByScan(vs, plan.wsLens);
    };
    const matches: Match[] = [];
    const matchedList: number[] = [];
    let score = 0;
    const test = (ps: PlanSig, t: Target, vs: Seen): void => {
      const sig = ps.sig;
      // The same value under another target name: each signature tests it once.
      const idx = sig.index;
      if (vs.tested !== null && ((vs.tested[idx >> 5] >>> (idx & 31)) & 1) !== 0) return;
      const v = vs.value;
      const m = sig.op.test(v);
      if (m === null) {
        (vs.tested ??= new Int32Array(testedWords))[idx >> 5] |= 1 << (idx & 31);
        return;
      }
      matched[sig.index] = 1;
      matchedList.push(sig.index);
      score += sig.score;
      const s = sig.spec;
      matches.push({
        id: s.id, name: s.name, family: s.family, severity: s.severity as Severity, paranoia: s.paranoia, score: sig.score,
        target: t.name, value: excerpt(v, m.index, m.matched.length), matched: m.matched.slice(0, EXCERPT),
      });
    };
    /** Test a signature on the target's value after its group's chain. */
    const run = (ps: PlanSig, g: Group, t: Target, seen: Seen): void => {
      test(ps, t, transformed(cache, seen, g, bitsOfMade));
    };
    // A header block this plan found clean before: its collections are skipped (see HeaderBlockMemo). One not known yet
    // is remembered when the whole request matched nothing (so no signature was skipped on a header as matched
    // earlier) and its lines raised no finding (a view that leaves them out raises none).
    let skipHeaders = view.headersLeftOut === true;
    let block = gateKey;
    const lines = view.headerLines;
    if (!gated && blockMemo !== null && lines !== undefined) {
      block = blockKey(plan, lines);
      if (block >= 0) {
        skipHeaders = blockMemo.has(block, lines, plan.id);
        memoCounted(plan, plan.collections.length, skipHeaders);
        if (skipHeaders) block = -1;
      }
    }
    try {
      const collections = plan.collections;
      for (let c = 0; c < collections.length; c++) {
        const cp = collections[c];
        if (skipHeaders && cp.fromHeaders) continue;
        const coll = cp.collection;
        const targets = cp.isCount ? countTargets(view, coll, cp.countOf) : view.byCollection.get(coll);
        if (targets === undefined) continue;
        for (const t of targets) {
          const byKey = cp.byKey.size > 0 ? cp.byKey.get(cp.caseless ? t.key.toLowerCase() : t.key) : undefined;
          const list = byKey ?? cp.whole;
          narrow = list.narrow;
          const keyed = cp.keyed || byKey !== undefined;
          // A collection another one covers asks that one first (its values are mostly evaluated there); any other
          // asks the memo first, so a hit (most targets of a browser's requests) costs one lookup, not two.
          const covered = cp.coveredBy.length > 0;
          let seen = covered ? seenOf(cache, t.value) : null;
          // The same value evaluated on an earlier target of this collection (with the same key, when keys count):
          // its results are already in (a signature that matched there is skipped here; the others tested it clean).
          if (seen !== null && evaluatedIn(seen, cp.coveredBy)) continue;
          let where: number | string | null = null;
          if (memo !== null && (keyed ? t.key.length : 0) + t.value.length <= MEMO_MAX_CHARS && memoPays(plan, c)) {
            // Where the key changes nothing but the list of signatures (a header selected by name), the list is the place.
            where = cp.keyed || list.no >= MAX_LISTS ? memoWhere(plan, c, t.key) : (plan.id * MAX_COLLECTIONS + c) * MAX_LISTS + list.no;
            const hit = memo.has(t.value, where);
            memoCounted(plan, c, hit);
            if (hit) continue;
          }
          seen ??= seenOf(cache, t.value);
          if (evaluatedBefore(seen, c, keyed ? t.key : null)) continue;
          // Clean so far: no signature that matched earlier (and is therefore skipped here) could run on this target.
          let clean = true;
          if (where !== null && matchedList.length > 0) {
            const flags = list.members;
            for (const i of matchedList) if (flags[i] === 1) { clean = false; break; }
          }
          const before = matches.length;
          const bits = bitsOf(seen, list);
          let rawWanted = false;
          if ((bits & list.triggers) === 0) {
            // No chain changes this value (up to ASCII case): the signatures without literals, then the raw marks.
            for (const { ps, group } of list.always) {
              if (matched[ps.sig.index] !== 0 || (ps.removed.length > 0 && !notRemoved(ps, t))) continue;
              run(ps, group, t, seen);
            }
            rawWanted = list.anyLit;
          } else {
            for (const e of list.entries) {
              const g = e.group;
              for (const ps of e.always) {
                if (matched[ps.sig.index] !== 0 || (ps.removed.length > 0 && !notRemoved(ps, t))) continue;
                run(ps, g, t, seen);
              }
              if (e.lit.length === 0) continue;
              if ((bits & g.triggers) === 0) {
                // The chain leaves the value as it is (up to ASCII case): the raw marks below serve every such chain.
                rawWanted = true;
                continue;
              }
              const point = g.lens ? lensPoint(cache, seen, g, bits, bitsOfMade) : null;
              if (point !== null) {
                // From here the chain only removes whitespace: its literals are known without making the result,
                // made only for a signature to test.
                let lensed: Seen | null = null;
                for (const i of wsMarksOf(point)) {
                  const h = list.bySig[i];
                  if (h === undefined || h.entry !== e || matched[i] !== 0 || (h.ps.removed.length > 0 && !notRemoved(h.ps, t))) continue;
                  test(h.ps, t, (lensed ??= transformed(cache, seen, g, bitsOfMade)));
                }
                continue;
              }
              // The chain changes this value: the marks of the transformed value, for this group's signatures.
              const vs = transformed(cache, seen, g, bitsOfMade);
              for (const i of marksOf(vs)) {
                const h = list.bySig[i];
                if (h === undefined || h.entry !== e || matched[i] !== 0 || (h.ps.removed.length > 0 && !notRemoved(h.ps, t))) continue;
                test(h.ps, t, vs);
              }
            }
          }
          if (rawWanted) {
            for (const i of marksOf(seen)) {
              const h = list.bySig[i];
              if (h === undefined || matched[i] !== 0 || (bits & h.entry.group.triggers) !== 0 || (h.ps.removed.length > 0 && !notRemoved(h.ps, t))) continue;
              run(h.ps, h.entry.group, t, seen);
            }
          }
          for (const { ps, group } of cp.regexKeyed) {
            if (matched[ps.sig.index] !== 0 || !accepts(ps, t)) continue;
            run(ps, group, t, seen);
          }
          if (where !== null && clean && matches.length === before) memo!.add(t.value, where);
        }
      }
      if (block >= 0 && matches.length === 0 && view.headerFindings === 0) (blockMemo as HeaderBlockMemo).add(block, lines as HeaderLines, plan.id);
      // The request line (or its path line) and the parts of a clean request, read in full: no signature matched, so
      // none was skipped on them. Not while the memo steps aside for them (they do not come back): an entry would cost
      // and never serve. A line whose path half was left out is clean too: that half was known clean.
      if (gated && matches.length === 0 && view.lineLeftOut === false && view.lineFindings === 0) {
        rememberLine(plan, REQUEST_LINE, view.requestLine);
        if (view.pathLeftOut === false) rememberLine(plan, PATH_LINE, view.pathLine);
      }
      if (gated && matches.length === 0 && view.freshParts !== undefined) {
        for (let kind = 0; kind < 2; kind++) {
          if (memoPaused(plan, partSlot(plan, kind as PartKind))) continue;
          const fresh = view.freshParts[kind];
          const known = memoKnown[kind];
          // Every part at its template's place (or none at all): nothing to learn.
          if (fresh.length === 0 && known.size === 0) continue;
          const where = partWhere(plan, kind as PartKind);
          const t = templateToLearn(plan, kind as PartKind, gs.path);
          for (const p of fresh) {
            if (p.raw.length > MEMO_MAX_CHARS) continue;
            (memo as CleanMemo).addPart(p.raw, p.name, where);
            learnPart(t, p.at, p.raw, p.name);
          }
          for (let i = 0; i < known.size; i++) learnPart(t, known.at[i], known.text[i].slice(known.start[i], known.end[i]), known.name[i]);
        }
      }
    } finally {
      for (const i of matchedList) matched[i] = 0;
      if (gated) {
        memoKnown[0].clear();
        memoKnown[1].clear();
      }
    }
    const reached = score >= ctx.threshold && score > 0;
    const action = !reached ? 'allow' : ctx.mode === 'block' ? 'block' : 'detect';
    return { action, score, matches, findings: view.findings, ...base };
  }

  const { overrides, exclusions: exclusionSpecs, memo: memoSize, narrow } = opts;
  return {
    version,
    source: { specs, options: { version, overrides, exclusions: exclusionSpecs, limits, memo: memoSize, narrow } },
    signatures: effective,
    inspectView,
    inspect(input, ctx) {
      if (ctx.mode === 'off') return inspectView({ targets: [], findings: [], byCollection: new Map() }, ctx);
      if (blockMemo === null) return evaluate(buildRequestView(input, limits), ctx, false, null, -1);
      gs.ctx = ctx;
      gs.plan = null;
      gs.key = -1;
      tpl[0] = tpl[1] = null;
      memoKnown[0].clear();
      memoKnown[1].clear();
      let view: RequestView;
      try {
        view = buildRequestView(input, limits, gate);
      } finally {
        gs.ctx = null;
      }
      opts.observeView?.(view);
      return evaluate(view, ctx, true, gs.plan, gs.key);
    },
  };
}
