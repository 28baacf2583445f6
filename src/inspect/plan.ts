/**
 * A plan: what runs on a request at one paranoia level under one set of active exclusions. Signatures are grouped by
 * transform chain, then by the collection they select (and the keys they name), with what can be precomputed over
 * each list (trigger bits, signatures without literals, which signatures a list holds). Built once per plan key and
 * reused by every request it fits.
 */

import type { ParanoiaLevel, Target } from '../types.ts';
import type { CompiledExclusion } from './exclusions.ts';
import type { LiteralMatcher } from './literal-matcher.ts';
import { literalMatcher } from './matcher-cache.ts';
import type { PartTemplates } from './part-templates.ts';
import { GATE_KINDS } from './plan-memo.ts';
import { HEADER_COLLECTIONS } from './request-view.ts';
import { excludes, keyMatches, type Selector } from './selectors.ts';
import type { CompiledSignature } from './signature.ts';
import type { Transform } from './transforms.ts';
import { chainTriggers, T_ALL, T_NONASCII, whitespaceLens } from './triggers.ts';

/** One signature inside a plan, for one collection: its key filters plus exclusion-added target removals. */
export interface PlanSig {
  sig: CompiledSignature;
  hasLiterals: boolean;
  /** Key filters of the include selectors for this collection (empty: the whole collection). */
  keys: Selector[];
  /** Removed targets: the signature's `!` selectors and exclusion targets. */
  removed: Selector[];
}

/** Signatures sharing one transform chain. */
export interface Group {
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
export interface GroupEntry {
  group: Group;
  /** Without literals: tested on every selected target. */
  always: PlanSig[];
  /** With literals: tested only when one of their literals occurs. */
  lit: PlanSig[];
}

/** What runs on a target of one collection (with a given key): the entries, plus what is precomputed over them. */
export interface EntryList {
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
  /**
   * An automaton over this list's own literals when it holds few signatures with literals (a collection such as
   * `uri_raw` or a header selected by name): its values are scanned with it, not with the plan's (a table of a few KB
   * against the plan's MB, whose rows a long value walks into cold); null: the plan's.
   */
  narrow: LiteralMatcher | null;
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
export interface CollectionPlan {
  collection: string;
  /** For a target whose key no keyed selector names: only whole-collection selectors. */
  whole: EntryList;
  /** For each key some selector names (whole-collection selectors included). */
  byKey: Map<string, EntryList>;
  /** Whether keys compare case-insensitively (headers). */
  caseless: boolean;
  /** A `count:` collection (one target: how many the named collection holds). */
  isCount: boolean;
  /** For a `count:` collection, the collection it counts (cut once here, not per request); else ''. */
  countOf: string;
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

export interface Plan {
  /** Distinguishes plans in the clean-target memo. */
  id: number;
  collections: CollectionPlan[];
  /** Automaton over the literals of every signature (owner = signature index); null when none has literals. */
  literals: LiteralMatcher | null;
  /** See `memoWhere` (by collection index). */
  memoWheres: Array<Map<string, string> | undefined>;
  /** Part templates by kind (query, form) and path, made on the first clean request with parts (see part-templates.ts). */
  partTemplates: Array<PartTemplates | undefined>;
  /**
   * Per collection: memo lookups and hits in the current window, and targets left to skip the memo for (see memoPays);
   * then the same for header blocks, query parts, form parts, request lines and path lines.
   */
  memoStats: Int32Array;
  /** Whether some group with literals can be seen through the whitespace lens (see `whitespaceLens`). */
  wsLens: boolean;
  /** Whether some collection comes from the header lines (see HeaderBlockMemo). */
  anyHeaders: boolean;
}

export function accepts(ps: PlanSig, t: Target): boolean {
  if (ps.keys.length > 0) {
    let ok = false;
    for (const k of ps.keys) if (keyMatches(k, t)) { ok = true; break; }
    if (!ok) return false;
  }
  return notRemoved(ps, t);
}

export function notRemoved(ps: PlanSig, t: Target): boolean {
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
    narrow: null,
  };
}

/** A signature with literals in an entry list: its entry (group) and plan signature. */
export interface SigEntry {
  entry: GroupEntry;
  ps: PlanSig;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

let planIds = 0;

/** Small numbers for chains and transforms, shared by every plan of a ruleset (slots in `Seen.chains`/`Seen.steps`). */
export interface Numbering {
  chains: Map<string, number>;
  steps: Map<Transform, number>;
}

function numberOf<K>(m: Map<K, number>, k: K): number {
  let n = m.get(k);
  if (n === undefined) m.set(k, (n = m.size));
  return n;
}

/** Lists with at most this many signatures with literals get their own automaton (see `EntryList.narrow`). */
export const NARROW_MAX = 16;

/** The list's own automaton, when it has few signatures with literals and the plan's automaton has many more. */
function narrowMatcher(list: EntryList, planOwners: number, max: number): LiteralMatcher | null {
  const sigs = new Set<CompiledSignature>();
  for (const e of list.entries) for (const ps of e.lit) sigs.add(ps.sig);
  if (sigs.size === 0 || sigs.size > max || sigs.size * 4 > planOwners) return null;
  const entries = [...sigs].sort((a, b) => a.index - b.index).map((sig) => ({ owner: sig.index, literals: sig.op.literals as string[] }));
  return literalMatcher(entries);
}

/** `narrow`: lists with at most this many signatures with literals get their own automaton (0: none). */
export function buildPlan(sigs: CompiledSignature[], paranoia: ParanoiaLevel, active: CompiledExclusion[], ids: Numbering, narrow = NARROW_MAX): Plan {
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
      collection, caseless, byKey, regexKeyed, isCount: collection.startsWith('count:'), countOf: collection.startsWith('count:') ? collection.slice(6) : '',
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
  for (const cp of collections) for (const list of [cp.whole, ...cp.byKey.values()]) list.narrow = narrowMatcher(list, entries.length, narrow);
  return {
    id: planIds++, collections, literals: entries.length > 0 ? literalMatcher(entries) : null, memoWheres: [], partTemplates: [],
    // One slot per collection, and one for the header block (index collections.length).
    memoStats: new Int32Array((collections.length + 1 + GATE_KINDS) * 3), wsLens, anyHeaders: collections.some((cp) => cp.fromHeaders),
  };
}
