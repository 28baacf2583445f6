/** The RuleStore interface: where versioned snapshots live (memory or Redis), with audit and change notification. */
import type { AuditEntry, RuleSnapshot } from './snapshot.ts';

export interface StoreStatus {
  kind: 'memory' | 'redis';
  reachable: boolean;
  lastError: string | null;
}

/** Result of a conditional write: `ok` or the version that is stored instead. */
export type CommitResult = { ok: true; version: number } | { ok: false; current: number };

export interface RuleStore {
  readonly kind: 'memory' | 'redis';
  /** Connect (Redis). Never throws for an unreachable server: status() says so and it keeps retrying. */
  start(): Promise<void>;
  /** Latest stored version number, 0 when the store is empty. Throws StoreError when unreachable. */
  latestVersion(): Promise<number>;
  /** A stored version (latest when omitted), or null when it is not kept. */
  load(version?: number): Promise<RuleSnapshot | null>;
  /**
   * Store `snapshot` as its version if and only if the latest stored version is still `expectedBase`
   * (0 = empty store), append `audit`, trim to the last N versions and publish the number.
   */
  commit(snapshot: RuleSnapshot, audit: AuditEntry, expectedBase: number): Promise<CommitResult>;
  /** Kept version numbers, newest first. */
  versions(): Promise<number[]>;
  /** Audit entries, newest first. */
  history(limit?: number): Promise<AuditEntry[]>;
  /** Called with each published version number (from any instance, including this one). Returns an unsubscribe. */
  onPublished(cb: (version: number) => void): () => void;
  /** Called when the store becomes reachable again after an outage (and on first connect). */
  onReconnect(cb: () => void): () => void;
  status(): StoreStatus;
  close(): Promise<void>;
}
