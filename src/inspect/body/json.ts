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
  let tooDeep = false;
  const leaf = (path: string, node: unknown): boolean =>
    sink.leaf(path === '' ? '$' : path, typeof node === 'string' ? node : String(node));

  // Past maxDepth: an explicit stack (no recursion), and paths stop growing.
  const walkFlat = (top: object, path: string): boolean => {
    const stack: unknown[] = [top];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || typeof node !== 'object') {
        if (!leaf(path, node)) return false;
      } else if (Array.isArray(node)) {
        for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      } else {
        const keys = Object.keys(node);
        for (let i = keys.length - 1; i >= 0; i--) {
          sink.key(path, keys[i]);
          stack.push((node as Record<string, unknown>)[keys[i]]);
        }
      }
    }
    return true;
  };

  const walk = (node: unknown, path: string, depth: number): boolean => {
    if (node === null || typeof node !== 'object') return leaf(path, node);
    if (depth >= maxDepth) {
      tooDeep = true;
      return walkFlat(node, path);
    }
    const prefix = path === '' ? '' : path + '.';
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (!walk(node[i], prefix + i, depth + 1)) return false;
      return true;
    }
    for (const k of Object.keys(node)) {
      const p = prefix + k;
      sink.key(p, k);
      if (!walk((node as Record<string, unknown>)[k], p, depth + 1)) return false;
    }
    return true;
  };

  if (!walk(root, '', 0)) return 'stopped';
  return tooDeep ? 'too_deep' : 'ok';
}

/** A cheap guess that a text is JSON (first non-space char opens an object or array). */
export function looksJson(s: string): boolean {
  const m = /^\s*[[{]/.exec(s.length > 64 ? s.slice(0, 64) : s);
  return m !== null;
}
