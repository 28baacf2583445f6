/**
 * Header blocks a plan found clean. Every target of the header collections (`headers`, `headers_names`, `cookies`,
 * `cookie_names`) is a function of a request's header lines alone, so the next request with the same lines (an API
 * client, a page's fetches: the same headers and cookies) can skip them all after one lookup here instead of one per
 * header and cookie.
 *
 * A block is found by a number (its line count, and each line's lengths and two of its value's characters), then
 * compared line by line: no key string is built or hashed (hashing a 500-character block cost more than the lookups it
 * saves). The rest (at most 8 blocks per such
 * number, two generations of bounded size) is the target memo's too: FingerprintMemo.
 */

import { detached, FingerprintMemo } from './fingerprint-memo.ts';

export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/** Blocks whose names and values together are longer than this are not remembered. */
export const BLOCK_MAX_CHARS = 4096;
/** Nor blocks of more lines than this. */
const BLOCK_MAX_LINES = 128;

/**
 * A number for a block (≥ 0), or -1 when it is too large to remember: its line count and, per line, the name's and the
 * value's length and two of the value's characters (the last and the middle one). Blocks that differ only in a value of
 * the same length (a POST's Content-Length from 2049 to 2050, a rotated token) mostly get different numbers, so a
 * lookup compares one kept block, not every block of the same size (line count and total length alone put a form's
 * blocks with each Content-Length of 4 digits on one number, and each lookup compared up to 8 of them in full).
 */
export function blockFingerprint(lines: HeaderLines): number {
  const n = lines.length;
  if (n > BLOCK_MAX_LINES) return -1;
  let chars = 0;
  let h = n;
  for (let i = 0; i < n; i++) {
    const name = lines[i][0];
    const value = lines[i][1];
    const len = value.length;
    chars += name.length + len;
    h = Math.imul(h ^ name.length, 0x01000193);
    h = Math.imul(h ^ len, 0x01000193);
    if (len > 0) h = Math.imul(h ^ (value.charCodeAt(len - 1) | (value.charCodeAt(len >> 1) << 16)), 0x01000193);
  }
  return chars > BLOCK_MAX_CHARS ? -1 : h >>> 0;
}

function sameLines(kept: HeaderLines, lines: HeaderLines): boolean {
  if (kept.length !== lines.length) return false;
  for (let i = 0; i < lines.length; i++) if (kept[i][0] !== lines[i][0] || kept[i][1] !== lines[i][1]) return false;
  return true;
}

/** The lines, copied (they must not keep a larger string alive). */
const keepLines = (lines: HeaderLines): HeaderLines => lines.map(([n, v]) => [detached(n), detached(v)] as const);

/** Found by `blockFingerprint` (same count and length), then compared line by line; see FingerprintMemo. */
export class HeaderBlockMemo {
  private readonly memo: FingerprintMemo<HeaderLines>;
  constructor(cap: number) {
    this.memo = new FingerprintMemo(cap, sameLines, keepLines);
  }

  /** Blocks held (at most twice the cap). */
  get size(): number {
    return this.memo.size;
  }

  /** Whether plan `where` found these lines (fingerprint `fp`, from `blockFingerprint`) clean. */
  has(fp: number, lines: HeaderLines, where: number): boolean {
    return this.memo.has(fp, lines, where);
  }

  /** Remember that plan `where` found these lines clean. */
  add(fp: number, lines: HeaderLines, where: number): void {
    this.memo.add(fp, lines, where);
  }
}
