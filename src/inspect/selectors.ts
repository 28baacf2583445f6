/** Target selectors (`args`, `args:q`, `!args:csrf`, `headers:user-agent`, `args:/^id_/`, `count:args`) parsed and matched. */

import type { Target } from '../types.ts';

/** Collections the request view produces (plus `count:` forms of each). */
export const COLLECTIONS = new Set([
  'args', 'args_get', 'args_post', 'args_names', 'headers', 'headers_names', 'cookies', 'cookie_names', 'path', 'path_raw',
  'path_segments', 'uri_raw', 'query_raw', 'method', 'protocol', 'request_line', 'body_raw', 'files', 'file_names', 'json',
  'xml', 'findings',
]);

/** Collections whose keys are header names (matched case-insensitively). */
const CASELESS = new Set(['headers', 'headers_names']);

/** Collections that are views of `args`: an exclusion of `args:K` also covers them. */
export const ARGS_FAMILY = new Set(['args', 'args_get', 'args_post', 'json', 'xml']);

export interface Selector {
  negated: boolean;
  /** `count:args` selects one number target; `collection` is then `count:args`. */
  count: boolean;
  collection: string;
  /** The member: exact key, a regex (`/.../`), or undefined for the whole collection. */
  key?: string | RegExp;
  text: string;
}

/** Parse a selector; throws with a message when the collection is unknown or a key regex does not compile. */
export function parseSelector(text: string): Selector {
  let s = text.trim();
  const negated = s.startsWith('!');
  if (negated) s = s.slice(1);
  const count = s.startsWith('count:');
  if (count) s = s.slice(6);
  const colon = s.indexOf(':');
  const base = colon < 0 ? s : s.slice(0, colon);
  if (!COLLECTIONS.has(base)) throw new Error(`unknown target collection "${base}" in "${text}"`);
  let key: string | RegExp | undefined;
  if (colon >= 0) {
    const k = s.slice(colon + 1);
    if (k.length > 2 && k.startsWith('/') && k.endsWith('/')) {
      try {
        key = new RegExp(k.slice(1, -1), CASELESS.has(base) ? 'i' : '');
      } catch (err) {
        throw new Error(`bad key regex in "${text}": ${(err as Error).message}`);
      }
    } else key = CASELESS.has(base) ? k.toLowerCase() : k;
  }
  if (count && negated) throw new Error(`"${text}": count: selectors cannot be negated`);
  return { negated, count, collection: count ? 'count:' + base : base, key, text };
}

/** Does the selector's key accept this target (the collection is already known to match)? */
export function keyMatches(sel: Selector, t: Target): boolean {
  const k = sel.key;
  if (k === undefined) return true;
  if (typeof k === 'string') return CASELESS.has(t.collection) ? t.key.toLowerCase() === k : t.key === k;
  return k.test(t.key);
}

/** Does an exclusion target selector remove this target (`args:K` also covers args_get/args_post/json/xml:K)? */
export function excludes(sel: Selector, t: Target): boolean {
  const same = sel.collection === t.collection || (sel.collection === 'args' && ARGS_FAMILY.has(t.collection));
  return same && keyMatches(sel, t);
}
