/**
 * Header blocks a plan found clean. Every target of the header collections (`headers`, `headers_names`, `cookies`,
 * `cookie_names`) is a function of a request's header lines alone, so the next request with the same lines (an API
 * client, a page's fetches: the same headers and cookies) can skip them all after one lookup here instead of one per
 * header and cookie.
 *
 * A block is found by a number (its line count and total length), then compared line by line: no key string is built
 * or hashed (hashing a 500-character block cost more than the lookups it saves). Two generations of bounded size, as
 * in the target memo (a hit moves an entry to the young one; a full young generation becomes the old one).
 */

export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/** Blocks whose names and values together are longer than this are not remembered. */
export const BLOCK_MAX_CHARS = 4096;
/** Nor blocks of more lines than this. */
const BLOCK_MAX_LINES = 128;
/** Blocks kept per fingerprint: a lookup compares at most this many (a client cannot make it scan a long list). */
const SAME_FINGERPRINT_MAX = 8;

interface BlockEntry {
  /** Names and values, alternating, copied (they must not keep a larger string alive). */
  lines: string[];
  /** The plans (by id) that found the block clean. */
  where: number | Set<number>;
}

/** Line count and total length in one number, or -1 when the block is too large to remember. */
export function blockFingerprint(lines: HeaderLines): number {
  if (lines.length > BLOCK_MAX_LINES) return -1;
  let chars = 0;
  for (let i = 0; i < lines.length; i++) chars += lines[i][0].length + lines[i][1].length;
  return chars > BLOCK_MAX_CHARS ? -1 : chars * (BLOCK_MAX_LINES + 1) + lines.length;
}

function sameLines(e: BlockEntry, lines: HeaderLines): boolean {
  const el = e.lines;
  for (let i = 0; i < lines.length; i++) if (el[2 * i] !== lines[i][0] || el[2 * i + 1] !== lines[i][1]) return false;
  return true;
}

function find(list: BlockEntry[] | undefined, lines: HeaderLines): BlockEntry | undefined {
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) if (sameLines(list[i], lines)) return list[i];
  return undefined;
}

const holds = (e: BlockEntry | undefined, where: number): boolean =>
  e !== undefined && (typeof e.where === 'number' ? e.where === where : e.where.has(where));

/** A copy of a string that shares nothing with a larger one (see `detached` in engine.ts). */
const copy = (s: string): string => (s.length < 13 ? s : (' ' + s).slice(1));

export class HeaderBlockMemo {
  private young = new Map<number, BlockEntry[]>();
  private old = new Map<number, BlockEntry[]>();
  private youngEntries = 0;
  private oldEntries = 0;
  constructor(private readonly cap: number) {}

  /** Blocks held (at most twice the cap). */
  get size(): number {
    return this.youngEntries + this.oldEntries;
  }

  /** Whether plan `where` found these lines (fingerprint `fp`, from `blockFingerprint`) clean. */
  has(fp: number, lines: HeaderLines, where: number): boolean {
    if (holds(find(this.young.get(fp), lines), where)) return true;
    if (!holds(find(this.old.get(fp), lines), where)) return false;
    this.add(fp, lines, where);
    return true;
  }

  /** Remember that plan `where` found these lines clean. */
  add(fp: number, lines: HeaderLines, where: number): void {
    const list = this.young.get(fp);
    const e = find(list, lines);
    if (e !== undefined) {
      if (holds(e, where)) return;
      if (typeof e.where === 'number') e.where = new Set([e.where, where]);
      else e.where.add(where);
    } else {
      const flat: string[] = [];
      for (const [n, v] of lines) flat.push(copy(n), copy(v));
      const entry: BlockEntry = { lines: flat, where };
      if (list === undefined) this.young.set(fp, [entry]);
      else if (list.length < SAME_FINGERPRINT_MAX) list.push(entry);
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
