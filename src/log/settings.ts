/** The `events` config section (validated with zod, every bad value reported with its path) and its defaults. */
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { DEFAULT_EVENT_HEADERS } from './event.ts';
import { parseDuration } from './query.ts';

const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as "30m", "24h", "7d" or milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const regexSource = z.string().refine((s) => {
  try {
    new RegExp(s, 'gi');
    return true;
  } catch {
    return false;
  }
}, { message: 'expected a valid regular expression' });

export const eventsSchema = z.strictObject({
  /** Local JSONL file (false = none). */
  file: z.union([
    z.literal(false),
    z.strictObject({
      path: z.string().min(1).default('var/events.jsonl'),
      maxBytes: z.number().int().min(4096).default(10 * 1024 * 1024),
      maxFiles: z.number().int().min(0).max(100).default(5),
    }),
  ]).default({ path: 'var/events.jsonl', maxBytes: 10 * 1024 * 1024, maxFiles: 5 }),
  /** Redis stream caps (used when the `redis` section names a server). */
  stream: z.strictObject({
    maxLen: z.number().int().min(100).default(100_000),
    maxAge: duration.default(7 * 86_400_000),
  }).prefault({}),
  /** Events kept in memory for queries without Redis. */
  ring: z.number().int().min(10).max(1_000_000).default(5000),
  /** Events waiting for Redis (oldest dropped beyond this, and counted). */
  queue: z.number().int().min(10).max(10_000_000).default(100_000),
  /** Request headers kept in an event (values of secret ones are redacted). */
  headers: z.array(z.string().regex(/^[A-Za-z0-9-]+$/)).default(DEFAULT_EVENT_HEADERS),
  redact: z.strictObject({
    /** Extra field / header / cookie names whose values are hidden. */
    names: z.array(z.string().min(1)).default([]),
    /** Extra regexes; matches are replaced everywhere in the event. */
    patterns: z.array(regexSource).default([]),
  }).prefault({}),
});

export type EventsSettings = z.output<typeof eventsSchema>;

/** Validate config.events; throws ConfigError with `events.*` paths. */
export function eventsSettings(raw: unknown): EventsSettings {
  const r = eventsSchema.safeParse(raw ?? {});
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: ['events', ...i.path.map(String)].join('.'), message: i.message })));
  return r.data;
}
