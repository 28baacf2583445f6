/** RuleStore on Redis: snapshots written atomically by a Lua script, last N kept, audit list, version published on pub/sub. */
import { EventEmitter } from 'node:events';
import { storeKeys, snapshotKey, type StoreKeys } from './keys.ts';
import { parseSnapshot, type AuditEntry, type RuleSnapshot } from './snapshot.ts';
import type { CommitResult, RuleStore, StoreStatus } from './store.ts';
import { StoreError } from './errors.ts';
import { createRedisClient, type RedisLike, type RedisTarget } from './redis-client.ts';

/**
 * KEYS: version, new snapshot, versions list, audit list.
 * ARGV: expected base, new version, snapshot JSON, audit JSON, keep N, channel, snapshot key prefix, keep audit.
 * Every key carries the same hash tag, so the prefix-built deletes stay in the same Cluster slot.
 */
const COMMIT_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then return {0, cur} end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[2])
local keep = tonumber(ARGV[5])
local old = redis.call('LRANGE', KEYS[3], keep, -1)
for _, v in ipairs(old) do
  if v ~= ARGV[2] then redis.call('DEL', ARGV[7] .. v) end
end
redis.call('LTRIM', KEYS[3], 0, keep - 1)
redis.call('LPUSH', KEYS[4], ARGV[4])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[8]) - 1)
redis.call('PUBLISH', ARGV[6], ARGV[2])
return {1, tonumber(ARGV[2])}
`;

export interface RedisStoreOptions {
  target: RedisTarget;
  namespace?: string;
  keepVersions?: number;
  keepAudit?: number;
  maxBackoffMs?: number;
  /** Logger for connection changes (warn on loss, info on return). */
  log?: { warn(msg: string): void; info(msg: string): void };
}

export class RedisRuleStore implements RuleStore {
  readonly kind = 'redis' as const;
  private readonly keys: StoreKeys;
  private readonly client: RedisLike;
  private readonly sub: RedisLike;
  private readonly events = new EventEmitter();
  private reachable = false;
  private lastError: string | null = null;
  private closed = false;

  constructor(private readonly opts: RedisStoreOptions) {
    this.keys = storeKeys(opts.namespace);
    this.client = createRedisClient(opts.target, { maxBackoffMs: opts.maxBackoffMs, name: 'bulwark-rules' });
    this.sub = createRedisClient(opts.target, { maxBackoffMs: opts.maxBackoffMs, name: 'bulwark-rules-sub' });
    this.client.on('ready', () => {
      const wasDown = !this.reachable;
      this.reachable = true;
      this.lastError = null;
      if (wasDown) opts.log?.info('rule store: redis reachable');
      this.events.emit('reconnect');
    });
    const down = (err?: Error) => {
      if (err?.message) this.lastError = err.message;
      if (this.reachable && !this.closed) opts.log?.warn(`rule store: redis connection lost${err ? ` (${err.message})` : ''}; serving the last good snapshot`);
      this.reachable = false;
    };
    this.client.on('error', (err: Error) => down(err));
    this.client.on('close', () => down());
    this.sub.on('error', () => undefined);
    // The subscription comes back on its own connection, maybe after the main one: a version published in between was
    // not heard. Once it listens again (subscribe is idempotent), ask for a sync, as the main connection does when it
    // comes back (if the main one is still down, its own 'ready' will).
    this.sub.on('ready', () => {
      this.sub.subscribe(this.keys.channel).then(() => {
        if (this.reachable && this.client.status === 'ready' && !this.closed) this.events.emit('reconnect');
      }, () => undefined);
    });
    this.sub.on('message', (channel: string, message: string) => {
      const v = Number(message);
      if (channel === this.keys.channel && Number.isInteger(v) && v > 0) this.events.emit('published', v);
    });
  }

  async start(): Promise<void> {
    // connect() rejects while the server is down, but ioredis keeps reconnecting with our backoff.
    this.client.connect().catch((err: Error) => {
      this.lastError = err.message;
      this.opts.log?.warn(`rule store: redis unreachable at start (${err.message}); starting from local signatures and config, retrying`);
    });
    // Subscribed on every 'ready' (above), the first one included; while the server is down ioredis keeps retrying.
    this.sub.connect().catch(() => undefined);
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.lastError = `${what}: ${msg}`;
      throw new StoreError('WAF_ERR_STORE_UNAVAILABLE', `rule store unreachable (${what}: ${msg})`);
    }
  }

  async latestVersion(): Promise<number> {
    const v = await this.run('GET version', () => this.client.get(this.keys.version));
    return v ? Number(v) : 0;
  }

  async load(version?: number): Promise<RuleSnapshot | null> {
    const v = version ?? (await this.latestVersion());
    if (!v) return null;
    const json = await this.run('GET snapshot', () => this.client.get(snapshotKey(this.keys, v)));
    return json ? parseSnapshot(json) : null;
  }

  async commit(snapshot: RuleSnapshot, audit: AuditEntry, expectedBase: number): Promise<CommitResult> {
    const k = this.keys;
    const res = (await this.run('commit', () => this.client.eval(
      COMMIT_LUA, 4, k.version, snapshotKey(k, snapshot.version), k.versions, k.audit,
      String(expectedBase), String(snapshot.version), JSON.stringify(snapshot), JSON.stringify(audit),
      String(Math.max(1, this.opts.keepVersions ?? 20)), k.channel, k.snapshotPrefix, String(Math.max(1, this.opts.keepAudit ?? 1000)),
    ))) as [number, number];
    return res[0] === 1 ? { ok: true, version: res[1] } : { ok: false, current: res[1] };
  }

  async versions(): Promise<number[]> {
    const list = await this.run('LRANGE versions', () => this.client.lrange(this.keys.versions, 0, -1));
    return list.map(Number);
  }

  async history(limit = 50): Promise<AuditEntry[]> {
    const list = await this.run('LRANGE audit', () => this.client.lrange(this.keys.audit, 0, Math.max(0, limit - 1)));
    return list.map((a) => JSON.parse(a) as AuditEntry);
  }

  onPublished(cb: (version: number) => void): () => void {
    this.events.on('published', cb);
    return () => this.events.off('published', cb);
  }

  onReconnect(cb: () => void): () => void {
    this.events.on('reconnect', cb);
    return () => this.events.off('reconnect', cb);
  }

  status(): StoreStatus {
    return { kind: 'redis', reachable: this.reachable && this.client.status === 'ready', lastError: this.lastError };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.removeAllListeners();
    this.client.disconnect();
    this.sub.disconnect();
  }
}
