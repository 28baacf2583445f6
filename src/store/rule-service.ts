/**
 * Rule changes on behalf of an admin: apply a pure change to the latest version, compile and self-test the result
 * BEFORE writing (a refused change writes nothing), write it as the next version, make it live here at once.
 */
import type { SignatureSpec } from '../types.ts';
import { StoreError } from './errors.ts';
import type { LiveRuleset } from './live-ruleset.ts';
import type { RuleStore } from './store.ts';
import { contentOf, makeSnapshot, type AuditEntry, type RuleSnapshot, type SnapshotContent } from './snapshot.ts';
import type { Change } from './changes.ts';
import type { Compiler } from './live-ruleset.ts';

export interface ChangeResult {
  version: number;
  previous: number;
  action: string;
  detail: string;
}

export class RuleService<T> {
  constructor(readonly store: RuleStore, readonly live: LiveRuleset<T>, private readonly compile: Compiler<T>) {}

  /** The latest stored version (falls back to the live one when the store has none). */
  async latest(): Promise<RuleSnapshot> {
    const snap = await this.store.load();
    return snap ?? this.live.live().snapshot;
  }

  /** Compile and self-test content without storing it; throws WAF_ERR_SIGNATURE_INVALID with the reasons. */
  async check(content: SnapshotContent, version = 0): Promise<T> {
    try {
      return await this.compile(content, version);
    } catch (err) {
      const e = err as Error & { problems?: string[] };
      throw new StoreError('WAF_ERR_SIGNATURE_INVALID', `refused, nothing changed: ${e.message}`, e.problems ?? [e.message]);
    }
  }

  /** Apply `change` to the latest version and store the result as a new version, retrying on a concurrent write. */
  async apply(make: (latest: RuleSnapshot) => Change, author: string): Promise<ChangeResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const base = await this.store.latestVersion();
      const latest = base ? await this.store.load(base) : this.live.live().snapshot;
      if (!latest) continue;
      const change = make(latest);
      const version = Math.max(base, latest.version) + 1;
      const compiled = await this.check(change.content, version);
      const snap = makeSnapshot(contentOf(change.content), { version, author, change: change.detail });
      const audit: AuditEntry = { version, at: snap.createdAt, author, action: change.action, detail: change.detail };
      const r = await this.store.commit(snap, audit, base);
      if (!r.ok) continue;
      this.live.installCompiled(snap, compiled);
      return { version, previous: latest.version, action: change.action, detail: change.detail };
    }
    throw new StoreError('WAF_ERR_STORE_CONFLICT', 'the rules changed concurrently five times in a row; try again');
  }

  /** Store an older version's content as a new version. Without a version: the one before the latest. */
  async rollback(author: string, to?: number): Promise<ChangeResult> {
    const kept = await this.store.versions();
    const target = to ?? kept[1];
    if (target === undefined) throw new StoreError('WAF_ERR_VERSION_UNKNOWN', 'there is no earlier version to roll back to');
    const old = kept.includes(target) ? await this.store.load(target) : null;
    if (!old) throw new StoreError('WAF_ERR_VERSION_UNKNOWN', `version ${target} is not kept (kept: ${kept.join(', ') || 'none'})`);
    return this.apply(() => ({ content: contentOf(old), action: 'rollback', detail: `rolled back to the content of version ${target}` }), author);
  }

  /** The library in the latest version. */
  async signatures(): Promise<SignatureSpec[]> {
    return (await this.latest()).signatures;
  }
}
