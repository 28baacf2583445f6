/**
 * What the clean-target memo and the header block memo share: things found by a number (a fingerprint the caller
 * computes cheaply: no string is built or hashed whole), then compared in full, each remembered with the places (plans,
 * collections) where it was found clean. At most SAME_FINGERPRINT_MAX things share a fingerprint, so a client cannot
 * make a lookup scan a long list; later ones are not remembered. Two generations of bounded size: a hit in the old one
 * moves the entry to the young one, a full young generation becomes the old one, so memory stays bounded and flooding
 * it with new things only costs the misses.
 */

/** Where something was found clean: a number for a plan × collection (× key list), a string when a key counts too. */
export type Where = number | string;

export interface MemoEntry<K> {
  /** The thing, as the memo keeps it (a copy that holds nothing larger alive). */
  key: K;
  /** One place, or a Set when it was clean in several. */
  where: Where | Set<Where>;
  /** What the caller keeps with it (a query or form part: its decoded name), or null. */
  note: string | null;
}

type Slot<K> = MemoEntry<K> | Array<MemoEntry<K>>;

const SAME_FINGERPRINT_MAX = 8;

/**
 * A copy of a string that does not keep a larger one alive: a value cut out of a request body (V8 keeps such a
 * substring as a view of the whole body string) must not pin that body in a memo.
 */
export function detached(s: string): string {
  // V8 copies substrings shorter than 13 characters (SlicedString::kMinLength): those hold nothing else alive.
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function holds<K>(e: MemoEntry<K> | undefined, where: Where): boolean {
  return e === undefined ? false : typeof e.where === 'object' ? e.where.has(where) : e.where === where;
}

export class FingerprintMemo<K> {
  private young = new Map<number, Slot<K>>();
  private old = new Map<number, Slot<K>>();
  private youngEntries = 0;
  private oldEntries = 0;

  /**
   * `same(kept, key)`: whether a kept thing is `key`, null for `===` (strings: compared inline, not through a call that
   * sees two functions and is not inlined); `keep(key)`: the copy to keep (a thing cut out of a request must not keep
   * the request alive).
   */
  constructor(
    private readonly cap: number,
    private readonly same: ((kept: K, key: K) => boolean) | null,
    private readonly keep: (key: K) => K,
  ) {}

  /** Things held (at most twice the cap). */
  get size(): number {
    return this.youngEntries + this.oldEntries;
  }

  /** Whether `key` (fingerprint `fp`) was found clean at `where`. */
  has(fp: number, key: K, where: Where): boolean {
    return this.lookup(fp, key, where, this.young.get(fp)) !== undefined;
  }

  /** The entry of `key` (fingerprint `fp`) when it was found clean at `where`. */
  get(fp: number, key: K, where: Where): MemoEntry<K> | undefined {
    return this.lookup(fp, key, where, this.young.get(fp));
  }

  /**
   * `get` for the string `text.slice(start, end)` (a memo of strings), cut out of the text only when something kept
   * has its fingerprint.
   */
  getSlice(this: FingerprintMemo<string>, fp: number, text: string, start: number, end: number, where: Where): MemoEntry<string> | undefined {
    const slot = this.young.get(fp);
    if (slot === undefined && !this.old.has(fp)) return undefined;
    return this.lookup(fp, text.slice(start, end), where, slot);
  }

  /** `get`, with the young generation's slot for `fp` already looked up. */
  private lookup(fp: number, key: K, where: Where, youngSlot: Slot<K> | undefined): MemoEntry<K> | undefined {
    const y = this.find(youngSlot, key);
    if (holds(y, where)) return y;
    const e = this.find(this.old.get(fp), key);
    if (!holds(e, where)) return undefined;
    // Moved to the young generation (unless its list there is full: then the old entry serves until it goes).
    return this.put(fp, key, where, (e as MemoEntry<K>).note, (e as MemoEntry<K>).key) ?? e;
  }

  /** Remember that `key` (fingerprint `fp`) was found clean at `where`, with `note` (kept as given: pass a detached string). */
  add(fp: number, key: K, where: Where, note: string | null = null): void {
    this.put(fp, key, where, note, null);
  }

  private find(slot: Slot<K> | undefined, key: K): MemoEntry<K> | undefined {
    if (slot === undefined) return undefined;
    const same = this.same;
    if (!Array.isArray(slot)) return (same === null ? slot.key === key : same(slot.key, key)) ? slot : undefined;
    for (let i = 0; i < slot.length; i++) if (same === null ? slot[i].key === key : same(slot[i].key, key)) return slot[i];
    return undefined;
  }

  /**
   * `kept`: the copy already kept in the old generation (moved, not copied again), or null to make one. Returns the
   * young entry, or undefined when the fingerprint's list is full (then nothing is kept).
   */
  private put(fp: number, key: K, where: Where, note: string | null, kept: K | null): MemoEntry<K> | undefined {
    const slot = this.young.get(fp);
    let e = this.find(slot, key);
    if (e !== undefined) {
      if (e.note === null) e.note = note;
      if (holds(e, where)) return e;
      if (typeof e.where === 'object') e.where.add(where);
      else e.where = new Set([e.where, where]);
    } else {
      e = { key: kept ?? this.keep(key), where, note };
      if (slot === undefined) this.young.set(fp, e);
      else if (!Array.isArray(slot)) this.young.set(fp, [slot, e]);
      else if (slot.length < SAME_FINGERPRINT_MAX) slot.push(e);
      else return undefined;
    }
    if (++this.youngEntries >= this.cap) {
      this.old = this.young;
      this.oldEntries = this.youngEntries;
      this.young = new Map();
      this.youngEntries = 0;
    }
    return e;
  }
}
