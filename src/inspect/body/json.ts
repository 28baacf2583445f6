/** JSON body reading: every leaf value with its JSON path (`user.name`, `items.0.id`) and every key, bounded by depth and count. */

export interface JsonSink {
  /** A leaf (string, number, boolean, null) at `path`; return false to stop (count limit reached). */
  leaf(path: string, value: string): boolean;
  /** An object key `key` at `path` (the path including the key). */
  key(path: string, key: string): void;
}

export type JsonOutcome = 'ok' | 'invalid' | 'too_deep' | 'stopped';

/**
 * Parse `text` as JSON and walk it without recursion. Below `maxDepth` the leaves keep the path
 * of their ancestor at that depth (so nothing is hidden by nesting, and paths stay short) and the
 * outcome is `too_deep`. The root scalar's path is `$`.
 */
export function readJson(text: string, maxDepth: number, sink: JsonSink): JsonOutcome {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  let outcome: JsonOutcome = 'ok';
  const stack: Array<[string, unknown, number]> = [['', root, 0]];
  while (stack.length > 0) {
    const [path, node, depth] = stack.pop() as [string, unknown, number];
    if (node !== null && typeof node === 'object') {
      // Past maxDepth the walk goes on (it is iterative) but paths stop growing.
      const capped = depth >= maxDepth;
      if (capped) outcome = 'too_deep';
      const prefix = capped ? path : path === '' ? '' : path + '.';
      if (Array.isArray(node)) {
        for (let i = node.length - 1; i >= 0; i--) stack.push([capped ? prefix : prefix + i, node[i], depth + 1]);
      } else {
        const keys = Object.keys(node as object);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i];
          stack.push([capped ? prefix : prefix + k, (node as Record<string, unknown>)[k], depth + 1]);
        }
        for (const k of keys) sink.key(capped ? prefix : prefix + k, k);
      }
      continue;
    }
    const value = typeof node === 'string' ? node : String(node);
    if (!sink.leaf(path || '$', value)) return 'stopped';
  }
  return outcome;
}

/** A cheap guess that a text is JSON (first non-space char opens an object or array). */
export function looksJson(s: string): boolean {
  const m = /^\s*[[{]/.exec(s.length > 64 ? s.slice(0, 64) : s);
  return m !== null;
}
