/** application/x-www-form-urlencoded (and query string) parsing: every pair in order, decoded once, with findings. */

import { percentDecode } from '../transforms/percent.ts';

export interface UrlencodedResult {
  /** [name, value] pairs, decoded once (`+` → space, `%XX` once), duplicates kept in order. */
  pairs: Array<[string, string]>;
  /** Some `%` was not followed by two hex digits (kept literally). */
  invalidEncoding: boolean;
  /** Some decoded bytes were not valid UTF-8. */
  badUtf8: boolean;
  /** More than `maxPairs` pairs; the rest were not read. */
  tooMany: boolean;
}

/**
 * Split on `&` (not `;`, like current Django/Python and Node), `=` separates name from value
 * (a piece without `=` is a name with an empty value), empty pieces are skipped.
 */
export function parseUrlencoded(s: string, maxPairs: number): UrlencodedResult {
  const res: UrlencodedResult = { pairs: [], invalidEncoding: false, badUtf8: false, tooMany: false };
  const n = s.length;
  let start = 0;
  while (start < n) {
    let end = s.indexOf('&', start);
    if (end < 0) end = n;
    if (end > start) {
      if (res.pairs.length >= maxPairs) {
        res.tooMany = true;
        break;
      }
      const p = decodePart(s.slice(start, end));
      if (p.invalid) res.invalidEncoding = true;
      if (p.badUtf8) res.badUtf8 = true;
      res.pairs.push([p.name, p.value]);
    }
    start = end + 1;
  }
  return res;
}

/** One `name=value` part decoded: what a backend reads from it. */
export interface DecodedPart {
  name: string;
  value: string;
  /** Some `%` was not followed by two hex digits (kept literally). */
  invalid: boolean;
  /** Some decoded bytes were not valid UTF-8. */
  badUtf8: boolean;
}

/** Decode one non-empty `&`-separated part: `=` separates name from value (none: a name with an empty value). */
export function decodePart(part: string): DecodedPart {
  const eq = part.indexOf('=');
  const name = percentDecode(eq < 0 ? part : part.slice(0, eq), true);
  const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1), true);
  return { name: name.value, value: value.value, invalid: name.invalid || value.invalid, badUtf8: name.badUtf8 || value.badUtf8 };
}

/** The decoded value of a part (without decoding its name). */
export function partValue(part: string): string {
  const eq = part.indexOf('=');
  return eq < 0 ? '' : percentDecode(part.slice(eq + 1), true).value;
}

/** A cheap guess that a text is a form body (`name=value&...`), used when the declared type says otherwise. */
export function looksUrlencoded(s: string): boolean {
  const head = (s.length > 4096 ? s.slice(0, 4096) : s).trimEnd();
  return /^[\w.\-[\]%+*]{1,256}=/.test(head) && !/\s/.test(head);
}
