/**
 * Targets that a plan evaluated fully without any match: the same plan, collection, key and value give the same
 * (empty) result, so the next request carrying them (a browser's User-Agent, Accept-*, cookies, a common argument)
 * skips them. Only short values are kept (the engine decides which, and when: not when anything matched on the
 * target, nor when a signature that matched earlier in the request could have run on it; see engine.ts).
 *
 * A value is found by `valueFingerprint` (its length and 16 of its characters), then compared whole (see
 * FingerprintMemo). Every value of a request is a new string (from the HTTP parser or cut out of the body), and a Map
 * keyed by strings hashes each one whole before it can look it up: on the proxy bench's form (parts of ~90
 * characters) that was most of the memo's cost. A collision costs a comparison, never a wrong answer.
 */

import { detached, FingerprintMemo, type Where } from './fingerprint-memo.ts';

export type { Where } from './fingerprint-memo.ts';

/** Characters sampled from a longer value; shorter values are read whole. */
const SAMPLES = 16;

/**
 * A value's length and SAMPLES of its characters (all of them when shorter), spread evenly from first to last; of
 * `s.slice(start, end)` when given, read in place (a part of a body or query read in its text: reading the characters
 * of a slice costs V8 about twice as much as reading them in the string it was cut from).
 */
export function valueFingerprint(s: string, start = 0, end = s.length): number {
  const n = end - start;
  let h = n;
  if (n <= SAMPLES) {
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
    return h;
  }
  const last = n - 1;
  if (last >= 32768) {
    for (let i = 0; i < SAMPLES; i++) h = (Math.imul(h, 31) + s.charCodeAt(start + (((i * last) / (SAMPLES - 1)) | 0))) | 0;
    return h;
  }
  // Positions stepped in 16.16 fixed point (no division per character), the last character last.
  const step = ((last * 65536) / (SAMPLES - 1)) | 0;
  let pos = 0;
  for (let i = 0; i < SAMPLES - 1; i++) {
    h = (Math.imul(h, 31) + s.charCodeAt(start + (pos >>> 16))) | 0;
    pos += step;
  }
  return (Math.imul(h, 31) + s.charCodeAt(end - 1)) | 0;
}

export class CleanMemo {
  private readonly memo: FingerprintMemo<string>;
  constructor(cap: number) {
    this.memo = new FingerprintMemo<string>(cap, null, detached);
  }

  /** Values held (at most twice the cap). */
  get size(): number {
    return this.memo.size;
  }

  /** Whether `value` was found clean at `where`. */
  has(value: string, where: Where): boolean {
    return this.memo.has(valueFingerprint(value), value, where);
  }

  /** Remember that `value` was found clean at `where`. */
  add(value: string, where: Where): void {
    this.memo.add(valueFingerprint(value), value, where);
  }

  /**
   * The query or form part `text.slice(start, end)`, found clean at `where`: its decoded name (see `addPart`), or null.
   * Cut out of the text only when some kept part has its fingerprint.
   */
  partName(text: string, start: number, end: number, where: Where): string | null {
    const e = this.memo.getSlice(valueFingerprint(text, start, end), text, start, end, where);
    return e === undefined ? null : e.note;
  }

  /** Remember that a query or form part (decoded name `name`) was found clean at `where`. */
  addPart(raw: string, name: string, where: Where): void {
    this.memo.add(valueFingerprint(raw), raw, where, detached(name));
  }
}
