/**
 * Part templates: per plan, per kind (query, form) and path, the parts of the last clean requests in the order they
 * came. A page's form (or its query) is sent again with most parts the same and in the same places, so the part at
 * place i is first compared with the template's part at place i (one compare: no fingerprint, no table lookup):
 * equal, it is known clean and its decoded name is the template's.
 * Any other part is looked up in the clean-target memo.
 *
 * Sound for the same reason as the memo's parts: a template only ever holds parts that were read in full (or known
 * clean) in a request the plan found clean, with no finding of their own; where a part sat does not matter to what it
 * makes. A template mixes parts of several such requests, and a request with fewer parts leaves the rest in place.
 */

import { detached } from './fingerprint-memo.ts';

/** Places of a template (a longer form's later parts go to the memo only). */
export const TEMPLATE_PARTS = 64;
/**
 * Templates an engine keeps in all (every plan, kind and path): past it they are all dropped and learnt again. With at
 * most TEMPLATE_PARTS parts of at most 256 characters each (the memo's bound), and their names, that bounds them
 * whatever paths and plans clients make.
 */
export const TEMPLATES_MAX = 256;

export interface PartTemplate {
  /** The part at each place as sent (a detached copy), or undefined. */
  readonly raw: Array<string | undefined>;
  /** Its decoded name. */
  readonly names: string[];
}

/** The templates of one plan and kind, by path. */
export type PartTemplates = Map<string, PartTemplate>;

/** The template's name for the part `text.slice(start, end)` at place `at`, when the template holds that part there; else null. */
export function templateName(t: PartTemplate, at: number, text: string, start: number, end: number): string | null {
  if (at >= t.raw.length) return null;
  const p = t.raw[at];
  // A slice (a view of the text for 13 characters and more: nothing copied) compared whole costs a fifth of
  // `text.startsWith(p, start)`, which V8 compares character by character (measured on the bench's form parts).
  return p !== undefined && p.length === end - start && text.slice(start, end) === p ? t.names[at] : null;
}

/** A template with no place learnt yet. */
export function emptyTemplate(): PartTemplate {
  return { raw: [], names: [] };
}

/** Put a part known clean (`raw` as sent, `name` decoded) at place `at` (below TEMPLATE_PARTS). */
export function learnPart(t: PartTemplate, at: number, raw: string, name: string): void {
  if (at >= TEMPLATE_PARTS) return;
  // Places are filled in order on a template's first request; a gap (a part too long to keep) stays undefined.
  while (t.raw.length < at) {
    t.raw.push(undefined);
    t.names.push('');
  }
  t.raw[at] = detached(raw);
  t.names[at] = detached(name);
}
