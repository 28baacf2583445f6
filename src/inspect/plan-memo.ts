/**
 * A plan's places in the clean-target memo (numbers for targets whose key does not count, strings for the ones whose
 * key does, negative numbers for query and form parts) and its per-collection hit-rate accounting, by which the memo
 * steps aside where it does not pay.
 */

import type { GateKind } from './request-view.ts';
import type { Plan } from './plan.ts';

const MEMO_WINDOW = 1024;
/** Kinds of things the view's gate asks about (query part, form part, request line, path line). */
export const GATE_KINDS = 4;
const MEMO_PAUSE = 16 * 1024;
/** Bound on collections per plan and key lists per collection, to number plan × collection × list places. */
export const MAX_COLLECTIONS = 4096;
export const MAX_LISTS = 1024;

/**
 * The memo's place for a query or form part, or a request line (see ViewGate), under a plan: below every target's
 * place (those are ≥ 0). A part there was read in full in a request the plan found clean, with no finding of its own:
 * every target it makes (`args`, `args_get` / `args_post`, `args_names`, a form's `body_raw` part) is clean under that
 * plan; a request line there, every target of LINE_COLLECTIONS; a path line, every target of PATH_COLLECTIONS.
 */
export function partWhere(plan: Plan, kind: GateKind): number {
  return -(plan.id * GATE_KINDS + kind) - 1;
}

/** The parts' and the lines' rows in `plan.memoStats` (after the collections' rows and the header blocks' one). */
export function partSlot(plan: Plan, kind: GateKind): number {
  return plan.collections.length + 1 + kind;
}

/**
 * The memo's place for a keyed target: `plan:collection:key`, kept per plan for the keys it meets (a browser sends the
 * same header names on every request) so a lookup builds no string; bounded, since keys come from clients.
 */
export function memoWhere(plan: Plan, c: number, key: string): string {
  const byKey = (plan.memoWheres[c] ??= new Map());
  let w = byKey.get(key);
  if (w === undefined) {
    if (byKey.size >= 1024) byKey.clear();
    byKey.set(key, (w = `${plan.id}:${c}:${key}`));
  }
  return w;
}

/**
 * Whether the memo is worth asking for a target of collection `c`: values that never come back (the leaves of JSON
 * documents, which differ from one request to the next) make every lookup a miss and every target an entry, which
 * costs more than it saves (a miss, a lookup and an entry, costs about as much as a hit saves on a short value). Each
 * collection's hit rate is counted over windows of MEMO_WINDOW lookups; below 1 in 4 the memo is left out for that
 * collection for the next MEMO_PAUSE targets, then tried again.
 */
export function memoPays(plan: Plan, c: number): boolean {
  const st = plan.memoStats;
  if (st[c * 3 + 2] === 0) return true;
  st[c * 3 + 2]--;
  return false;
}

/** Whether the memo is stepping aside for collection `c` (read only: memoPays counts the pause down). */
export function memoPaused(plan: Plan, c: number): boolean {
  return plan.memoStats[c * 3 + 2] > 0;
}

export function memoCounted(plan: Plan, c: number, hit: boolean): void {
  const st = plan.memoStats;
  const k = c * 3;
  st[k]++;
  if (hit) st[k + 1]++;
  if (st[k] < MEMO_WINDOW) return;
  if (st[k + 1] * 4 < st[k]) st[k + 2] = MEMO_PAUSE;
  st[k] = 0;
  st[k + 1] = 0;
}
