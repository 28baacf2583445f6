/** The versioned rule snapshot: everything an instance needs to inspect traffic, as one immutable JSON document. */
import type { Exclusion, Mode, RatePolicy, SignatureOverride, SignatureSpec } from '../types.ts';

/** The tunable content of a snapshot (what a change edits). */
export interface SnapshotContent {
  signatures: SignatureSpec[];
  /** Keyed by signature id (as a string: JSON object keys). */
  overrides: Record<string, SignatureOverride>;
  exclusions: Exclusion[];
  ratePolicies: RatePolicy[];
  siteModes: Record<string, Mode>;
}

/** One stored version. Versions only grow; a rollback writes the old content as a new version. */
export interface RuleSnapshot extends SnapshotContent {
  version: number;
  createdAt: string;
  author: string;
  /** One line saying what this version changed. */
  change: string;
}

/** Who changed what and when; appended for every stored version. */
export interface AuditEntry {
  version: number;
  at: string;
  author: string;
  action: string;
  detail: string;
}

export function emptyContent(): SnapshotContent {
  return { signatures: [], overrides: {}, exclusions: [], ratePolicies: [], siteModes: {} };
}

/** The content part of a snapshot (drops version metadata). */
export function contentOf(s: SnapshotContent): SnapshotContent {
  return {
    signatures: s.signatures,
    overrides: s.overrides,
    exclusions: s.exclusions,
    ratePolicies: s.ratePolicies,
    siteModes: s.siteModes,
  };
}

export function makeSnapshot(content: SnapshotContent, meta: { version: number; author: string; change: string; createdAt?: string }): RuleSnapshot {
  return { version: meta.version, createdAt: meta.createdAt ?? new Date().toISOString(), author: meta.author, change: meta.change, ...contentOf(content) };
}

/** Parse a stored snapshot, refusing documents that are not one (corrupt or foreign keys). */
export function parseSnapshot(json: string): RuleSnapshot {
  const s = JSON.parse(json) as RuleSnapshot;
  if (!s || typeof s.version !== 'number' || !Array.isArray(s.signatures) || typeof s.overrides !== 'object'
    || !Array.isArray(s.exclusions) || typeof s.siteModes !== 'object') {
    throw new Error('stored snapshot is malformed');
  }
  s.ratePolicies ??= [];
  return s;
}

/** The overrides in the shape the engine takes (numeric keys). */
export function overridesById(s: SnapshotContent): Record<number, SignatureOverride> {
  const out: Record<number, SignatureOverride> = {};
  for (const [k, v] of Object.entries(s.overrides)) out[Number(k)] = v;
  return out;
}
