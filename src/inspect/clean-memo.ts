/**
 * Targets that a plan evaluated fully without any match: the same plan, collection, key and value give the same
 * (empty) result, so the next request carrying them (a browser's User-Agent, Accept-*, cookies, a common argument)
 * skips them. Only short values are kept, in two generations of bounded size (a hit moves an entry to the young one,
 * a full young generation becomes the old one), so memory stays bounded and flooding it with new values only costs
 * the misses. A target is not recorded when a signature that matched on an earlier target of the request could have
 * run on it (it was skipped there), nor when anything matched on it (the engine decides; see engine.ts).
 *
 * A value is found by a number (`valueFingerprint`: its length and 16 of its characters), then compared in full. Every
 * value of a request is a new string (from the HTTP parser or cut out of the body), and a Map keyed by strings hashes
 * each one whole before it can look it up: on the proxy bench's form (parts of ~90 characters) that was most of the
 * memo's cost. A collision costs a comparison, never a wrong answer; at most SAME_FINGERPRINT_MAX values share a
 * fingerprint (a client cannot make a lookup scan a long list), later ones are not remembered.
 */

/** Where a value was clean: a number for plan × collection (× key list), a string when the target's key counts too. */
export type Where = number | string;

const SAME_FINGERPRINT_MAX = 8;
/** Characters sampled from a longer value; shorter values are read whole. */
const SAMPLES = 16;

interface Entry {
  /** The value, copied (it must not keep a larger string alive). */
  value: string;
  /** Where it was clean: one place, or a Set when one value was clean in several. */
  where: Where | Set<Where>;
}

type Slot = Entry | Entry[];

/** A value's length and SAMPLES of its characters (all of them when shorter), spread evenly from first to last. */
export function valueFingerprint(s: string): number {
  const n = s.length;
  let h = n;
  if (n <= SAMPLES) {
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
    return h;
  }
  const last = n - 1;
  for (let i = 0; i < SAMPLES; i++) h = (Math.imul(h, 31) + s.charCodeAt(((i * last) / (SAMPLES - 1)) | 0)) | 0;
  return h;
}

function find(slot: Slot | undefined, value: string): Entry | undefined {
  if (slot === undefined) return undefined;
  if (!Array.isArray(slot)) return slot.value === value ? slot : undefined;
  for (let i = 0; i < slot.length; i++) if (slot[i].value === value) return slot[i];
  return undefined;
}

function holds(e: Entry | undefined, where: Where): boolean {
  return e === undefined ? false : typeof e.where === 'object' ? e.where.has(where) : e.where === where;
}

/**
 * A copy of a string that does not keep a larger one alive: a value cut out of a request body (V8 keeps such a
 * substring as a view of the whole body string) must not pin that body in the memo.
 */
function detached(s: string): string {
  // V8 copies substrings shorter than 13 characters (SlicedString::kMinLength): those hold nothing else alive.
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export class CleanMemo {
  private young = new Map<number, Slot>();
  private old = new Map<number, Slot>();
  private youngEntries = 0;
  private oldEntries = 0;
  constructor(private readonly cap: number) {}

  /** Values held (at most twice the cap). */
  get size(): number {
    return this.youngEntries + this.oldEntries;
  }

  /** Whether `value` was found clean at `where`. */
  has(value: string, where: Where): boolean {
    const fp = valueFingerprint(value);
    if (holds(find(this.young.get(fp), value), where)) return true;
    const e = find(this.old.get(fp), value);
    if (!holds(e, where)) return false;
    this.put(fp, (e as Entry).value, where, false);
    return true;
  }

  /** Remember that `value` was found clean at `where`. */
  add(value: string, where: Where): void {
    this.put(valueFingerprint(value), value, where, true);
  }

  /** `copy`: the value may be a slice of a larger string (not one of ours already). */
  private put(fp: number, value: string, where: Where, copy: boolean): void {
    const slot = this.young.get(fp);
    const e = find(slot, value);
    if (e !== undefined) {
      if (holds(e, where)) return;
      if (typeof e.where === 'object') e.where.add(where);
      else e.where = new Set([e.where, where]);
    } else {
      const entry: Entry = { value: copy ? detached(value) : value, where };
      if (slot === undefined) this.young.set(fp, entry);
      else if (!Array.isArray(slot)) this.young.set(fp, [slot, entry]);
      else if (slot.length < SAME_FINGERPRINT_MAX) slot.push(entry);
      else return;
    }
    if (++this.youngEntries >= this.cap) {
      this.old = this.young;
      this.oldEntries = this.youngEntries;
      this.young = new Map();
      this.youngEntries = 0;
    }
  }
}
