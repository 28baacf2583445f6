/** In-process RuleStore: the same semantics as the Redis store (versions, last N kept, audit, notifications) without Redis. */
import { EventEmitter } from 'node:events';
import type { AuditEntry, RuleSnapshot } from './snapshot.ts';
import type { CommitResult, RuleStore, StoreStatus } from './store.ts';

export interface MemoryStoreOptions {
  keepVersions?: number;
  keepAudit?: number;
}

export class MemoryRuleStore implements RuleStore {
  readonly kind = 'memory' as const;
  private readonly snapshots = new Map<number, string>();
  private order: number[] = [];
  private audit: string[] = [];
  private latest = 0;
  private readonly events = new EventEmitter();
  private readonly keep: number;
  private readonly keepAudit: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.keep = Math.max(1, opts.keepVersions ?? 20);
    this.keepAudit = Math.max(1, opts.keepAudit ?? 1000);
  }

  async start(): Promise<void> {
    queueMicrotask(() => this.events.emit('reconnect'));
  }

  async latestVersion(): Promise<number> {
    return this.latest;
  }

  async load(version?: number): Promise<RuleSnapshot | null> {
    const v = version ?? this.latest;
    const json = this.snapshots.get(v);
    // Stored as JSON so callers never share (and mutate) the stored object, like with Redis.
    return json ? (JSON.parse(json) as RuleSnapshot) : null;
  }

  async commit(snapshot: RuleSnapshot, audit: AuditEntry, expectedBase: number): Promise<CommitResult> {
    if (this.latest !== expectedBase) return { ok: false, current: this.latest };
    this.snapshots.set(snapshot.version, JSON.stringify(snapshot));
    this.latest = snapshot.version;
    this.order.unshift(snapshot.version);
    for (const old of this.order.slice(this.keep)) this.snapshots.delete(old);
    this.order = this.order.slice(0, this.keep);
    this.audit.unshift(JSON.stringify(audit));
    this.audit = this.audit.slice(0, this.keepAudit);
    const v = snapshot.version;
    queueMicrotask(() => this.events.emit('published', v));
    return { ok: true, version: v };
  }

  async versions(): Promise<number[]> {
    return [...this.order];
  }

  async history(limit = 50): Promise<AuditEntry[]> {
    return this.audit.slice(0, limit).map((a) => JSON.parse(a) as AuditEntry);
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
    return { kind: 'memory', reachable: true, lastError: null };
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}
