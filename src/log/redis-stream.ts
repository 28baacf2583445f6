/** The shared event store: a capped Redis stream (MAXLEN ~ by count, MINID ~ by age), idempotent by event id. */
import type { WafEvent } from '../types.ts';
import type { RedisLike } from '../store/redis-client.ts';

export interface StreamOptions {
  /** Key namespace; keys live under the `{namespace}` hash tag so they share a Cluster slot. */
  namespace?: string;
  /** Approximate cap on entries (XADD MAXLEN ~). */
  maxLen: number;
  /** Entries older than this are trimmed (XTRIM MINID ~); 0 = no age limit. */
  maxAgeMs: number;
}

/**
 * One event in, atomically: if the id was stored before, return its stream id; otherwise XADD (capped), remember
 * id → stream id (expires with the age limit), trim by age. So a replay after a half-acknowledged write adds nothing.
 */
const ADD_SCRIPT = `
local sid = redis.call('GET', KEYS[2])
if sid then return {sid, 0} end
sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[3], 'e', ARGV[4])
redis.call('SET', KEYS[2], sid, 'EX', ARGV[2])
if ARGV[5] ~= '0' then redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[5]) end
return {sid, 1}
`;

type Client = RedisLike & { bulwarkEventAdd(stream: string, seen: string, maxLen: number, ttl: number, id: string, json: string, minId: string): Promise<[string, number]> };

export class RedisEventStream {
  readonly key: string;
  private readonly prefix: string;
  private readonly client: Client;

  constructor(client: RedisLike, private readonly opts: StreamOptions) {
    const ns = opts.namespace ?? 'bulwark';
    this.key = `{${ns}}:events`;
    this.prefix = `{${ns}}:events:id:`;
    if (!('bulwarkEventAdd' in client)) client.defineCommand('bulwarkEventAdd', { numberOfKeys: 2, lua: ADD_SCRIPT });
    this.client = client as Client;
  }

  /** Store events; resolves with how many were new. Rejects when Redis is unreachable (nothing is assumed stored). */
  async add(events: WafEvent[]): Promise<number> {
    if (!events.length) return 0;
    const ttl = Math.max(60, Math.ceil((this.opts.maxAgeMs || 7 * 86_400_000) / 1000));
    const minId = this.opts.maxAgeMs > 0 ? String(Date.now() - this.opts.maxAgeMs) : '0';
    const results = await Promise.all(
      events.map((e) => this.client.bulwarkEventAdd(this.key, this.prefix + e.id, this.opts.maxLen, ttl, e.id, JSON.stringify(e), minId)),
    );
    return results.reduce((n, r) => n + Number(r[1]), 0);
  }

  /** Newest first, at most `count`; `beforeSid` pages backwards. */
  async recent(count: number, beforeSid?: string): Promise<Array<{ sid: string; event: WafEvent }>> {
    const end = beforeSid ? `(${beforeSid}` : '+';
    const rows = (await this.client.xrevrange(this.key, end, '-', 'COUNT', count)) as Array<[string, string[]]>;
    return rows.flatMap(([sid, fields]) => {
      const e = parseFields(fields);
      return e ? [{ sid, event: e }] : [];
    });
  }

  /** One event by its event id, or null. */
  async get(id: string): Promise<WafEvent | null> {
    const sid = await this.client.get(this.prefix + id);
    if (!sid) return null;
    const rows = (await this.client.xrange(this.key, sid, sid)) as Array<[string, string[]]>;
    return rows.length ? parseFields(rows[0][1]) : null;
  }

  async length(): Promise<number> {
    return this.client.xlen(this.key);
  }
}

function parseFields(fields: string[]): WafEvent | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'e') {
      try {
        return JSON.parse(fields[i + 1]) as WafEvent;
      } catch {
        return null;
      }
    }
  }
  return null;
}
