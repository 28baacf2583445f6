/**
 * The inspection engine: compiles signatures into per-(paranoia, exclusions) plans grouped by transform chain,
 * evaluates a request view against them (work done once per distinct string of the request: trigger bits and literal
 * marks in one scan, decode steps only where the value has their trigger characters, chains that would only remove
 * whitespace seen through the whitespace lens; a signature's regex runs only when its literals occur) and decides.
 */

import { WafError } from '../errors.ts';
import type { Exclusion, Match, Mode, ParanoiaLevel, RequestInput, Severity, SignatureOverride, SignatureSpec, Target, Verdict } from '../types.ts';
import { SEVERITY_SCORE } from '../types.ts';
import { compileExclusion, type CompiledExclusion } from './exclusions.ts';
import { compileOperator, type CompiledOperator } from './operators.ts';
import { literalMatcher } from './matcher-cache.ts';
import type { LiteralMatcher } from './literal-matcher.ts';
import { blockFingerprint, HeaderBlockMemo, type HeaderLines } from './header-block-memo.ts';
import { CleanMemo, type Where } from './clean-memo.ts';
import { buildRequestView, HEADER_COLLECTIONS, type PartKind, type RequestView, type ViewGate, type ViewLimits } from './request-view.ts';
import { excludes, keyMatches, parseSelector, type Selector } from './selectors.ts';
import { lowercase, transforms, type Transform } from './transforms.ts';
import { ASCII_BITS, ASCII_WS, chainTriggers, finishTriggers, T_ALL, T_NONASCII, T_WS, valueTriggers, whitespaceLens } from './triggers.ts';

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

/** One signature inside a plan, for one collection: its key filters plus exclusion-added target removals. */
interface PlanSig {
  sig: CompiledSignature;
  hasLiterals: boolean;
  /** Key filters of the include selectors for this collection (empty: the whole collection). */
  keys: Selector[];
  /** Removed targets: the signature's `!` selectors and exclusion targets. */
  removed: Selector[];
}

/** Signatures sharing one transform chain. */
interface Group {
  chain: Transform[];
  /** Number of the whole chain in the ruleset (chains with the same steps share it): its slot in `Seen.chains`. */
  chainId: number;
  /** Number of each step's transform in the ruleset: its slot in `Seen.steps`. */
  stepIds: number[];
  /** Trigger bits of each step (T_ALL for lowercase, which changes ASCII case without any trigger, but see buildPlan). */
  stepTriggers: number[];
  /** Trigger bits: a value with none of them is not changed by the chain (up to ASCII case). */
  triggers: number;
  /**
   * Whether the chain can be seen through the whitespace lens (see `whitespaceLens`): `wsStep` is the index of its
   * `remove_whitespace`; on an ASCII value holding whitespace and none of `tailMask` just before that step, the
   * result's literals are that value's with the whitespace skipped. A raw value with none of `lensMask` is that value.
   */
  lens: boolean;
  /** Whether some signature of the group has literals (its results' marks are wanted). */
  anyLit: boolean;
  wsStep: number;
  tailMask: number;
  lensMask: number;
}


/** The signatures of one group that select one collection. */
interface GroupEntry {
  group: Group;
  /** Without literals: tested on every selected target. */
  always: PlanSig[];
  /** With literals: tested only when one of their literals occurs. */
  lit: PlanSig[];
}

/** What runs on a target of one collection (with a given key): the entries, plus what is precomputed over them. */
interface EntryList {
  /** 0 for a collection's `whole` list, 1, 2, … for its `byKey` lists: with the collection, the memo's place. */
  no: number;
  entries: GroupEntry[];
  /** Trigger bits of every group with signatures here: a value with none of them is transformed by no chain. */
  triggers: number;
  /** Every signature without literals, with its group (for values no chain changes). */
  always: Array<{ ps: PlanSig; group: Group }>;
  /** Whether some signature here has literals (the literal scan can mark it). */
  anyLit: boolean;
  /** Whether some group here with literals can be seen through the whitespace lens. */
  wsLens: boolean;
  /** Signature index → the entry and plan signature that test it when the literal scan marks it. */
  bySig: Array<SigEntry | undefined>;
  /**
   * Which signatures (by index) can run on a target that uses this list (its entries and the regex-keyed ones). A
   * signature that matched earlier in the request is skipped on later targets; the memo may record a target as
   * clean only when no such skipped signature could have run on it.
   */
  members: Uint8Array;
}

/** Everything that selects one collection. */
interface CollectionPlan {
  collection: string;
  /** For a target whose key no keyed selector names: only whole-collection selectors. */
  whole: EntryList;
  /** For each key some selector names (whole-collection selectors included). */
  byKey: Map<string, EntryList>;
  /** Whether keys compare case-insensitively (headers). */
  caseless: boolean;
  /** A `count:` collection (one target: how many the named collection holds). */
  isCount: boolean;
  /** Signatures with a regex key: checked target by target. */
  regexKeyed: Array<{ ps: PlanSig; group: Group }>;
  /**
   * Whether a target's key can change its result beyond picking `byKey` entries: a regex-keyed signature, or a
   * signature with removed targets (`!` selectors, target exclusions). When not, the memo ignores keys of targets
   * that fall back to `whole`, so the same value under another name (JSON paths, repeated fields) is a hit.
   */
  keyed: boolean;
  /**
   * Earlier collections (by index) whose evaluation of a value covers this one's: every signature here runs there
   * on the same value, the same way (no keys, no removed targets on either side). A value already evaluated there is
   * not evaluated again here (`json` after `args`, which hold the same JSON leaves).
   */
  coveredBy: number[];
  /** Whether its targets come from the header lines alone (HEADER_COLLECTIONS): skipped when the header block is known clean. */
  fromHeaders: boolean;
}

interface Plan {
  /** Distinguishes plans in the clean-target memo. */
  id: number;
  collections: CollectionPlan[];
  /** Automaton over the literals of every signature (owner = signature index); null when none has literals. */
  literals: LiteralMatcher | null;
  /** See `memoWhere` (by collection index). */
  memoWheres: Array<Map<string, string> | undefined>;
  /**
   * Per collection: memo lookups and hits in the current window, and targets left to skip the memo for (see memoPays);
   * then the same for header blocks, query parts and form parts.
   */
  memoStats: Int32Array;
  /** Whether some group with literals can be seen through the whitespace lens (see `whitespaceLens`). */
  wsLens: boolean;
  /** Whether some collection comes from the header lines (see HeaderBlockMemo). */
  anyHeaders: boolean;
}

/**
 * The memo's place for a keyed target: `plan:collection:key`, kept per plan for the keys it meets (a browser sends the
 * same header names on every request) so a lookup builds no string; bounded, since keys come from clients.
 */
function memoWhere(plan: Plan, c: number, key: string): string {
  const byKey = (plan.memoWheres[c] ??= new Map());
  let w = byKey.get(key);
  if (w === undefined) {
    if (byKey.size >= 1024) byKey.clear();
    byKey.set(key, (w = `${plan.id}:${c}:${key}`));
  }
  return w;
}

/**
 * Whether the memo is worth asking for a target of collection `c`: values that never come back (the leaves of JSON
 * documents, which differ from one request to the next) make every lookup a miss and every target an entry, which
 * costs more than it saves (a miss, a lookup and an entry, costs about as much as a hit saves on a short value). Each
 * collection's hit rate is counted over windows of MEMO_WINDOW lookups; below 1 in 4 the memo is left out for that
 * collection for the next MEMO_PAUSE targets, then tried again.
 */
function memoPays(plan: Plan, c: number): boolean {
  const st = plan.memoStats;
  if (st[c * 3 + 2] === 0) return true;
  st[c * 3 + 2]--;
  return false;
}

/** Whether the memo is stepping aside for collection `c` (read only: memoPays counts the pause down). */
function memoPaused(plan: Plan, c: number): boolean {
  return plan.memoStats[c * 3 + 2] > 0;
}

function memoCounted(plan: Plan, c: number, hit: boolean): void {
  const st = plan.memoStats;
  const k = c * 3;
  st[k]++;
  if (hit) st[k + 1]++;
  if (st[k] < MEMO_WINDOW) return;
  if (st[k + 1] * 4 < st[k]) st[k + 2] = MEMO_PAUSE;
  st[k] = 0;
  st[k + 1] = 0;
}

const MEMO_WINDOW = 1024;
const MEMO_PAUSE = 16 * 1024;

/** Targets whose key and value together are longer than this are not remembered by the clean-target memo. */
const MEMO_MAX_CHARS = 256;
const MEMO_ENTRIES = 8192;
/** Bound on collections per plan and key lists per collection, to number plan × collection × list places. */
const MAX_COLLECTIONS = 4096;
const MAX_LISTS = 1024;

const NO_MARKS: number[] = [];
const NON_ASCII = /[^\x00-\x7f]/;

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

/**
 * Whether a target of collection `c` (with `key` when keys count, else null) holding this value was already
 * evaluated in this request; records it when not. The first place is kept in two fields (no string is built for the
 * common case of a value seen once), further ones in a set.
 */
function evaluatedBefore(seen: Seen, c: number, key: string | null): boolean {
  if (seen.doneC < 0) {
    seen.doneC = c;
    seen.doneKey = key;
    return false;
  }
  if (seen.doneC === c && seen.doneKey === key) return true;
  const where: Where = key === null ? c : `${c}:${key}`;
  if (seen.doneMore === null) {
    seen.doneMore = new Set([where]);
    return false;
  }
  if (seen.doneMore.has(where)) return true;
  seen.doneMore.add(where);
  return false;
}

/** Whether a value was evaluated as a keyless target of one of these collections in this request. */
function evaluatedIn(seen: Seen, collections: number[]): boolean {
  if (seen.doneC < 0) return false;
  for (const q of collections) {
    if (seen.doneC === q && seen.doneKey === null) return true;
    if (seen.doneMore !== null && seen.doneMore.has(q)) return true;
  }
  return false;
}

const MAX_PLANS = 256;
const EXCERPT = 200;

function accepts(ps: PlanSig, t: Target): boolean {
  if (ps.keys.length > 0) {
    let ok = false;
    for (const k of ps.keys) if (keyMatches(k, t)) { ok = true; break; }
    if (!ok) return false;
  }
  return notRemoved(ps, t);
}

function notRemoved(ps: PlanSig, t: Target): boolean {
  const removed = ps.removed;
  for (let i = 0; i < removed.length; i++) if (excludes(removed[i], t)) return false;
  return true;
}

/** Group plan signatures by transform group (order kept), with what is precomputed over them. */
function entryList(list: Array<{ ps: PlanSig; group: Group }>, regexKeyed: Array<{ ps: PlanSig }>, sigCount: number): EntryList {
  const m = new Map<Group, GroupEntry>();
  for (const { ps, group } of list) {
    let e = m.get(group);
    if (e === undefined) m.set(group, (e = { group, always: [], lit: [] }));
    (ps.hasLiterals ? e.lit : e.always).push(ps);
  }
  const entries = [...m.values()];
  const bySig = new Array<SigEntry | undefined>(sigCount).fill(undefined);
  const members = new Uint8Array(sigCount);
  let triggers = 0;
  for (const entry of entries) {
    triggers |= entry.group.triggers;
    for (const ps of entry.lit) bySig[ps.sig.index] = { entry, ps };
    for (const ps of [...entry.always, ...entry.lit]) members[ps.sig.index] = 1;
  }
  for (const x of regexKeyed) members[x.ps.sig.index] = 1;
  return {
    no: 0, entries, triggers, bySig, members,
    always: entries.flatMap((e) => e.always.map((ps) => ({ ps, group: e.group }))),
    anyLit: entries.some((e) => e.lit.length > 0),
    wsLens: entries.some((e) => e.lit.length > 0 && e.group.lens),
  };
}

/** A signature with literals in an entry list: its entry (group) and plan signature. */
interface SigEntry {
  entry: GroupEntry;
  ps: PlanSig;
}

function excerpt(value: string, index: number, length: number): string {
  if (value.length <= EXCERPT) return value;
  const room = Math.max(0, EXCERPT - Math.min(length, EXCERPT));
  const start = Math.max(0, Math.min(index - (room >> 1), value.length - EXCERPT));
  return value.slice(start, start + EXCERPT);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

let planIds = 0;

/** Small numbers for chains and transforms, shared by every plan of a ruleset (slots in `Seen.chains`/`Seen.steps`). */
interface Numbering {
  chains: Map<string, number>;
  steps: Map<Transform, number>;
}

function numberOf<K>(m: Map<K, number>, k: K): number {
  let n = m.get(k);
  if (n === undefined) m.set(k, (n = m.size));
  return n;
}

function buildPlan(sigs: CompiledSignature[], paranoia: ParanoiaLevel, active: CompiledExclusion[], ids: Numbering): Plan {
  const byChain = new Map<string, Array<{ sig: CompiledSignature; removed: Selector[] }>>();
  for (const sig of sigs) {
    if (sig.spec.paranoia > paranoia) continue;
    const removed = [...sig.exclude];
    let dropped = false;
    for (const ex of active) {
      if (!ex.covers(sig.spec)) continue;
      if (ex.target === undefined) { dropped = true; break; }
      removed.push(ex.target);
    }
    if (!dropped) push(byChain, sig.chainNames.join(','), { sig, removed });
  }
  const perCollection = new Map<string, Array<{ ps: PlanSig; group: Group }>>();
  for (const members of byChain.values()) {
    const names = members[0].sig.chainNames;
    const stepTriggers = names.map((n, k) => {
      if (n !== 'lowercase') return chainTriggers([n]);
      return k === names.length - 1 && members.every((m) => m.sig.op.foldsCase === true) ? T_NONASCII : T_ALL;
    });
    const group: Group = {
      chain: members[0].sig.chain,
      chainId: numberOf(ids.chains, names.join(',')),
      stepIds: members[0].sig.chain.map((fn) => numberOf(ids.steps, fn)),
      // `lowercase` changes ASCII case without any trigger, so it always runs, unless it is the last step and every
      // signature of the group decides the same either way (case-insensitive regexes, phrase lists): then only
      // non-ASCII text needs it.
      stepTriggers,
      triggers: chainTriggers(names),
      anyLit: members.some((m) => m.sig.op.literals !== null),
      ...whitespaceLens(names, stepTriggers),
    };
    for (const { sig, removed } of members) {
      const lits = sig.op.literals;
      const selectors = new Map<string, Selector[]>();
      const whole = new Set<string>();
      for (const sel of sig.include) {
        if (sel.key === undefined) whole.add(sel.collection);
        push(selectors, sel.collection, sel);
      }
      for (const [coll, sels] of selectors) {
        const ps: PlanSig = { sig, hasLiterals: lits !== null, keys: whole.has(coll) ? [] : sels, removed };
        push(perCollection, coll, { ps, group });
      }
    }
  }
  const collections: CollectionPlan[] = [];
  for (const [collection, list] of perCollection) {
    const caseless = collection === 'headers' || collection === 'headers_names';
    const wholeList = list.filter((x) => x.ps.keys.length === 0);
    const regexKeyed = list.filter((x) => x.ps.keys.some((k) => typeof k.key !== 'string'));
    const names = new Set<string>();
    for (const x of list) for (const k of x.ps.keys) if (typeof k.key === 'string') names.add(k.key);
    const byKey = new Map<string, EntryList>();
    for (const name of names) {
      const el = entryList(list.filter((x) => x.ps.keys.length === 0 || x.ps.keys.some((k) => k.key === name)), regexKeyed, sigs.length);
      el.no = byKey.size + 1;
      byKey.set(name, el);
    }
    collections.push({
      collection, caseless, byKey, regexKeyed, isCount: collection.startsWith('count:'),
      whole: entryList(wholeList, regexKeyed, sigs.length),
      keyed: regexKeyed.length > 0 || list.some((x) => x.ps.removed.length > 0),
      coveredBy: [],
      fromHeaders: HEADER_COLLECTIONS.has(collection.startsWith('count:') ? collection.slice(6) : collection),
    });
  }
  const plain = (cp: CollectionPlan) => !cp.keyed && !cp.isCount && cp.byKey.size === 0 && cp.regexKeyed.length === 0;
  for (let c = 0; c < collections.length; c++) {
    const cp = collections[c];
    if (!plain(cp)) continue;
    for (let q = 0; q < c; q++) {
      const other = collections[q].whole.members;
      if (plain(collections[q]) && cp.whole.members.every((m, i) => m === 0 || other[i] === 1)) cp.coveredBy.push(q);
    }
  }
  // One automaton over the literals of every signature up to the paranoia level (the same for every plan at that
  // level, shared through the matcher cache): each distinct string a request holds, raw or transformed, is scanned once, whatever selects it.
  const entries = sigs.filter((sig) => sig.op.literals !== null && sig.spec.paranoia <= paranoia).map((sig) => ({ owner: sig.index, literals: sig.op.literals as string[] }));
  const wsLens = collections.some((cp) => cp.whole.wsLens || [...cp.byKey.values()].some((l) => l.wsLens));
  return {
    id: planIds++, collections, literals: entries.length > 0 ? literalMatcher(entries) : null, memoWheres: [],
    // One slot per collection, and one for the header block (index collections.length).
    memoStats: new Int32Array((collections.length + 3) * 3), wsLens, anyHeaders: collections.some((cp) => cp.fromHeaders),
  };
}

/**
 * What one request knows about a string (a target's value, or a value a transform produced): computed once per
 * distinct string, whatever number of targets, collections and chains hold it.
 */
interface Seen {
  value: string;
  /** Trigger bits (valueTriggers), or -1 before they are needed. */
  bits: number;
  /** Results of whole chains (by `Group.chainId`). */
  chains: Array<Seen | undefined> | null;
  /** Results of single transforms (by `Group.stepIds`). */
  steps: Array<Seen | undefined> | null;
  /** Signatures (by index, one bit each) already tested on this string without a match. */
  tested: Int32Array | null;
  /** Signatures (by index, ascending) one of whose literals occurs in this string, once scanned. */
  marks: number[] | null;
  /** The same for this string without its whitespace (when scanned through the whitespace lens), else null. */
  wsMarks: number[] | null;
  /**
   * The ASCII string this one is the lowercase of: the literal scan folds ASCII case, so both have the same marks
   * and only one is scanned.
   */
  caseOf: Seen | null;
  /** Where a target with this value was already evaluated in this request (see `evaluatedBefore`): -1 nowhere yet. */
  doneC: number;
  doneKey: string | null;
  doneMore: Set<Where> | null;
}

/**
 * Strings up to this length are shared by content: the same string met again in the request (as another target's
 * value, or made by a transform) gets the same record. Longer ones (a body) are not: they are reached through the
 * target and the chain instead.
 */
const SHARED_MAX = 16 * 1024;
/**
 * Strings up to this length are found by hash (a Map keyed by the string; V8 hashes every character of a new
 * string once). Longer ones are found by length, then compared (which stops at the first difference): hashing a
 * 2 KB comment costs more than comparing it. Past SAME_LENGTH_MAX distinct values of one length, the others are
 * found by hash, so a request full of long values of one length stays linear.
 */
const HASHED_MAX = 256;
const SAME_LENGTH_MAX = 8;

interface SeenCache {
  byValue: Map<string, Seen>;
  byLength: Map<number, Seen[]>;
}

function newSeen(v: string): Seen {
  return { value: v, bits: -1, chains: null, steps: null, tested: null, marks: null, wsMarks: null, caseOf: null, doneC: -1, doneKey: null, doneMore: null };
}

function seenOf(cache: SeenCache, v: string): Seen {
  const n = v.length;
  if (n <= HASHED_MAX) {
    let s = cache.byValue.get(v);
    if (s === undefined) cache.byValue.set(v, (s = newSeen(v)));
    return s;
  }
  if (n > SHARED_MAX) return newSeen(v);
  const list = cache.byLength.get(n);
  if (list === undefined) {
    const s = newSeen(v);
    cache.byLength.set(n, [s]);
    return s;
  }
  for (let i = 0; i < list.length; i++) if (list[i].value === v) return list[i];
  if (list.length < SAME_LENGTH_MAX) {
    const s = newSeen(v);
    list.push(s);
    return s;
  }
  // Many distinct values of one length: by hash, as the short ones.
  let s = cache.byValue.get(v);
  if (s === undefined) cache.byValue.set(v, (s = newSeen(v)));
  return s;
}

/**
 * A target's value after a transform chain, computed once per distinct value and chain per request (the same
 * value often appears as `args`, `args_post` and `json`), and step by step once per distinct intermediate value and
 * transform: chains that differ only by steps that leave a value unchanged share the rest of the work.
 */
function transformed(cache: SeenCache, seen: Seen, g: Group, bitsOfMade: (vs: Seen, g: Group) => number): Seen {
  const chain = g.chain;
  if (chain.length === 0) return seen;
  const chains = (seen.chains ??= []);
  const full = chains[g.chainId];
  if (full !== undefined) return full;
  const at = walk(cache, seen, g, chain.length, bitsOfMade);
  chains[g.chainId] = at;
  return at;
}

/**
 * The value after the first `end` steps of a group's chain. A step none of whose triggers the value holds cannot
 * change it and is skipped; a step that changes it (a decode can bring in any character) makes a new value, whose
 * own trigger bits decide the next steps (computed by `bitsOfMade` when a step needs them).
 */
function walk(cache: SeenCache, seen: Seen, g: Group, end: number, bitsOfMade: (vs: Seen, g: Group) => number): Seen {
  let at = seen;
  // `b`: trigger bits of `at` (-1, every bit, while unknown).
  let b = seen.bits;
  for (let k = 0; k < end; k++) {
    // T_ALL (lowercase for case-sensitive operators) runs even on a value with no trigger bit at all.
    const st = g.stepTriggers[k];
    if (st !== T_ALL) {
      if (b < 0) b = at.bits >= 0 ? at.bits : bitsOfMade(at, g);
      if ((b & st) === 0) continue;
    }
    const fn = g.chain[k];
    const steps = (at.steps ??= []);
    const sid = g.stepIds[k];
    let next = steps[sid];
    if (next === undefined) {
      const r = fn(at.value);
      next = r.changed && r.value !== at.value ? seenOf(cache, r.value) : at;
      // An ASCII value's lowercase has its literal marks (the scan folds case).
      if (fn === lowercase && next !== at && next.caseOf === null && (b >= 0 ? (b & T_NONASCII) === 0 : !NON_ASCII.test(at.value))) next.caseOf = at;
      steps[sid] = next;
    }
    if (next !== at) {
      at = next;
      b = at.bits;
    }
  }
  return at;
}

/**
 * Where the whitespace lens sees through this group's chain on this value: the value just before its
 * `remove_whitespace` when that is ASCII and holds whitespace (see `whitespaceLens`), else null.
 */
function lensPoint(cache: SeenCache, seen: Seen, g: Group, bits: number, bitsOfMade: (vs: Seen, g: Group) => number): Seen | null {
  if ((bits & g.lensMask) === 0) return (bits & T_WS) !== 0 ? seen : null;
  const at = walk(cache, seen, g, g.wsStep, bitsOfMade);
  const b = at.bits >= 0 ? at.bits : bitsOfMade(at, g);
  return (b & T_WS) !== 0 && (b & g.tailMask) === 0 ? at : null;
}

function countTargets(view: RequestView, coll: string): Target[] {
  const base = coll.slice(6);
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
      plan = buildPlan(compiled, paranoia, active, ids);
      plans.set(key, plan);
    }
    return plan;
  }

  /** The fingerprint to look a header block up under for this plan, or -1 (no header collections, memo paused, too large). */
  function blockKey(plan: Plan, lines: HeaderLines): number {
    return plan.anyHeaders && memoPays(plan, plan.collections.length) ? blockFingerprint(lines) : -1;
  }

  /**
   * The memo's place for a query or form part (see ViewGate) under a plan: below every target's place (those are ≥ 0).
   * A part there was read in full in a request the plan found clean, with no finding of its own: every target it makes
   * (`args`, `args_get` / `args_post`, `args_names`, a form's `body_raw` part) is clean under that plan.
   */
  const partWhere = (plan: Plan, kind: PartKind): number => -(plan.id * 2 + kind) - 1;
  /** The parts' row in `plan.memoStats` (after the collections' rows and the header blocks' one). */
  const partSlot = (plan: Plan, kind: PartKind): number => plan.collections.length + 1 + kind;

  // The gate `inspect` gives the view builder: it picks the plan from the decoded path, asks the block memo whether that
  // plan knows the header block clean (the view then leaves the header targets out), then the memo for each query and
  // form part. Inspection is synchronous, so one scratch record carries the context in and the plan and the block's
  // fingerprint (on a miss) out.
  const gs: { ctx: InspectContext | null; plan: Plan | null; key: number } = { ctx: null, plan: null, key: -1 };
  const gate: ViewGate = {
    headers(path, lines) {
      const ctx = gs.ctx as InspectContext;
      const plan = (gs.plan = planFor(ctx.paranoia, ctx.site, ctx.path ?? path, ctx.clientIp));
      const key = blockKey(plan, lines);
      if (key < 0) return false;
      const hit = (blockMemo as HeaderBlockMemo).has(key, lines, plan.id);
      memoCounted(plan, plan.collections.length, hit);
      if (!hit) gs.key = key;
      return hit;
    },
    part(kind, raw) {
      const plan = gs.plan as Plan;
      const slot = partSlot(plan, kind);
      if (raw.length > MEMO_MAX_CHARS || !memoPays(plan, slot)) return false;
      const hit = (memo as CleanMemo).has(raw, partWhere(plan, kind));
      memoCounted(plan, slot, hit);
      return hit;
    },
  };

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
    const marksOf = (vs: Seen): number[] => {
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
        const targets = cp.isCount ? countTargets(view, coll) : view.byCollection.get(coll);
        if (targets === undefined) continue;
        for (const t of targets) {
          const byKey = cp.byKey.size > 0 ? cp.byKey.get(cp.caseless ? t.key.toLowerCase() : t.key) : undefined;
          const list = byKey ?? cp.whole;
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
      // The parts of a clean request, read in full: no signature matched, so none was skipped on them.
      if (gated && matches.length === 0 && view.freshParts !== undefined) {
        for (let kind = 0; kind < 2; kind++) {
          // Not while the memo steps aside for these parts (they do not come back): an entry would cost and never serve.
          if (memoPaused(plan, partSlot(plan, kind as PartKind))) continue;
          const where = partWhere(plan, kind as PartKind);
          for (const raw of view.freshParts[kind]) if (raw.length <= MEMO_MAX_CHARS) (memo as CleanMemo).add(raw, where);
        }
      }
    } finally {
      for (const i of matchedList) matched[i] = 0;
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
      if (blockMemo === null) return evaluate(buildRequestView(input, limits), ctx, false, null, -1);
      gs.ctx = ctx;
      gs.plan = null;
      gs.key = -1;
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
