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
      const eq = s.indexOf('=', start);
      let rawName: string;
      let rawValue: string;
      if (eq < 0 || eq > end) {
        rawName = s.slice(start, end);
        rawValue = '';
      } else {
        rawName = s.slice(start, eq);
        rawValue = s.slice(eq + 1, end);
      }
      const name = percentDecode(rawName, true);
      const value = percentDecode(rawValue, true);
      if (name.invalid || value.invalid) res.invalidEncoding = true;
      if (name.badUtf8 || value.badUtf8) res.badUtf8 = true;
      res.pairs.push([name.value, value.value]);
    }
    start = end + 1;
  }
  return res;
}

/** A cheap guess that a text is a form body (`name=value&...`), used when the declared type says otherwise. */
export function looksUrlencoded(s: string): boolean {
  const head = (s.length > 4096 ? s.slice(0, 4096) : s).trimEnd();
  return /^[\w.\-[\]%+*]{1,256}=/.test(head) && !/\s/.test(head);
}
