/** Pure search over events: filters (time, site, path, IP, signature, family, action, text), top-N counts and a timeline. */
import type { WafEvent } from '../types.ts';

export interface EventFilter {
  /** Epoch ms, inclusive. */
  since?: number;
  until?: number;
  site?: string;
  /** Path prefix (the URL without its query). */
  path?: string;
  /** Client IP or peer, exact. */
  ip?: string;
  /** Signature id. */
  rule?: number;
  family?: string;
  action?: string;
  /** Case-insensitive substring anywhere in the event. */
  text?: string;
}

/** "90s", "15m", "1h", "7d" → milliseconds; null when not a duration. */
export function parseDuration(s: string): number | null {
  const m = /^(\d{1,9})\s*(ms|s|m|h|d)?$/i.exec(s.trim());
  if (!m) return null;
  const unit = (m[2] ?? 's').toLowerCase();
  const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return Number(m[1]) * mult;
}

/** A time bound: a duration back from now ("1h"), an ISO date, or epoch ms. */
export function parseTime(s: string, now = Date.now()): number | null {
  const d = parseDuration(s);
  if (d !== null && !/^\d{10,}$/.test(s.trim())) return now - d;
  if (/^\d{10,}$/.test(s.trim())) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function matchesFilter(e: WafEvent, f: EventFilter): boolean {
  const t = Date.parse(e.time);
  if (f.since !== undefined && t < f.since) return false;
  if (f.until !== undefined && t > f.until) return false;
  if (f.site && e.site !== f.site) return false;
  if (f.path && !pathOf(e.url).startsWith(f.path)) return false;
  if (f.ip && e.clientIp !== f.ip && e.peer !== f.ip) return false;
  if (f.rule !== undefined && !e.matches.some((m) => m.id === f.rule)) return false;
  if (f.family && !e.matches.some((m) => m.family === f.family)) return false;
  if (f.action && e.action !== f.action) return false;
  if (f.text && !JSON.stringify(e).toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

/** Filter events (given newest first) and keep at most `limit`. */
export function search(events: Iterable<WafEvent>, f: EventFilter, limit = 100): WafEvent[] {
  const out: WafEvent[] = [];
  for (const e of events) {
    if (!matchesFilter(e, f)) continue;
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

export type TopKind = 'signatures' | 'ips' | 'paths';
export interface TopEntry {
  key: string;
  count: number;
  /** Signature name / family for kind=signatures. */
  name?: string;
  family?: string;
}

/** The `n` most frequent signatures (each counted once per event), client IPs or paths among the events. */
export function top(events: Iterable<WafEvent>, kind: TopKind, n = 10): TopEntry[] {
  const counts = new Map<string, TopEntry>();
  const bump = (key: string, extra?: Partial<TopEntry>) => {
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { key, count: 1, ...extra });
  };
  for (const e of events) {
    if (kind === 'ips') bump(e.clientIp);
    else if (kind === 'paths') bump(pathOf(e.url));
    else {
      const seen = new Set<number>();
      for (const m of e.matches) {
        if (seen.has(m.id)) continue;
        seen.add(m.id);
        bump(String(m.id), { name: m.name, family: m.family });
      }
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key)).slice(0, n);
}

/** Counts per time bucket between since and until (for the chart), by action. */
export function timeline(events: Iterable<WafEvent>, since: number, until: number, buckets = 60): { start: number; step: number; counts: Array<Record<string, number>> } {
  const step = Math.max(1000, Math.ceil((until - since) / buckets));
  const counts: Array<Record<string, number>> = Array.from({ length: buckets }, () => ({}));
  for (const e of events) {
    const t = Date.parse(e.time);
    if (t < since || t > until) continue;
    const i = Math.min(buckets - 1, Math.floor((t - since) / step));
    counts[i][e.action] = (counts[i][e.action] ?? 0) + 1;
  }
  return { start: since, step, counts };
}
