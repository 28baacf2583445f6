/** Pure rule changes: each takes snapshot content and returns new content plus a one-line summary, or throws StoreError. */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Exclusion, Mode, ParanoiaLevel, Severity, SignatureOverride, SignatureSpec } from '../types.ts';
import { StoreError } from './errors.ts';
import type { SnapshotContent } from './snapshot.ts';

export interface Change {
  content: SnapshotContent;
  action: string;
  detail: string;
}

const SEVERITIES: Severity[] = ['critical', 'error', 'warning', 'notice'];
const MODES: Mode[] = ['block', 'detect', 'off'];

function findSpec(c: SnapshotContent, id: number): SignatureSpec {
  const spec = Number.isInteger(id) ? c.signatures.find((s) => s.id === id) : undefined;
  if (!spec) throw new StoreError('WAF_ERR_RULE_UNKNOWN', `no signature with id ${id} in the live library`);
  return spec;
}

function withOverride(c: SnapshotContent, id: number, next: SignatureOverride): SnapshotContent {
  const overrides = { ...c.overrides };
  const clean = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) as SignatureOverride;
  if (Object.keys(clean).length === 0) delete overrides[String(id)];
  else overrides[String(id)] = clean;
  return { ...c, overrides };
}

/** Turn one signature off or back on (an override; the library entry is untouched). */
export function setEnabled(c: SnapshotContent, id: number, enabled: boolean): Change {
  const spec = findSpec(c, id);
  const cur = c.overrides[String(id)] ?? {};
  const next: SignatureOverride = { ...cur, enabled: enabled ? undefined : false };
  return { content: withOverride(c, id, next), action: enabled ? 'enable' : 'disable', detail: `${enabled ? 'enabled' : 'disabled'} ${id} (${spec.name})` };
}

/** Change a signature's paranoia level and/or severity; a value equal to the library's clears the override. */
export function setRule(c: SnapshotContent, id: number, patch: { paranoia?: number; severity?: string }): Change {
  const spec = findSpec(c, id);
  if (patch.paranoia === undefined && patch.severity === undefined) {
    throw new StoreError('WAF_ERR_RULE_INVALID', 'nothing to set: give --paranoia 1-4 and/or --severity critical|error|warning|notice');
  }
  if (patch.paranoia !== undefined && ![1, 2, 3, 4].includes(patch.paranoia)) {
    throw new StoreError('WAF_ERR_RULE_INVALID', `paranoia must be 1, 2, 3 or 4 (got ${patch.paranoia})`);
  }
  if (patch.severity !== undefined && !SEVERITIES.includes(patch.severity as Severity)) {
    throw new StoreError('WAF_ERR_RULE_INVALID', `severity must be one of ${SEVERITIES.join(', ')} (got ${patch.severity})`);
  }
  const cur = { ...(c.overrides[String(id)] ?? {}) };
  const parts: string[] = [];
  if (patch.paranoia !== undefined) {
    cur.paranoia = patch.paranoia === spec.paranoia ? undefined : (patch.paranoia as ParanoiaLevel);
    parts.push(`paranoia ${spec.paranoia}→${patch.paranoia}`);
  }
  if (patch.severity !== undefined) {
    cur.severity = patch.severity === spec.severity ? undefined : (patch.severity as Severity);
    parts.push(`severity ${spec.severity}→${patch.severity}`);
  }
  return { content: withOverride(c, id, cur), action: 'set', detail: `${id}: ${parts.join(', ')}` };
}

export interface LibraryDiff {
  added: number[];
  removed: number[];
  changed: number[];
}

/** Which signature ids a new library adds, removes or changes compared to the live one. */
export function diffSignatures(live: SignatureSpec[], next: SignatureSpec[]): LibraryDiff {
  const before = new Map(live.map((s) => [s.id, JSON.stringify(s)]));
  const after = new Map(next.map((s) => [s.id, JSON.stringify(s)]));
  const added = [...after.keys()].filter((id) => !before.has(id)).sort((a, b) => a - b);
  const removed = [...before.keys()].filter((id) => !after.has(id)).sort((a, b) => a - b);
  const changed = [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id)).sort((a, b) => a - b);
  return { added, removed, changed };
}

export function describeDiff(d: LibraryDiff): string {
  const list = (ids: number[]) => (ids.length > 8 ? `${ids.slice(0, 8).join(', ')} …` : ids.join(', '));
  const parts = [
    `${d.added.length} added${d.added.length ? ` (${list(d.added)})` : ''}`,
    `${d.removed.length} removed${d.removed.length ? ` (${list(d.removed)})` : ''}`,
    `${d.changed.length} changed${d.changed.length ? ` (${list(d.changed)})` : ''}`,
  ];
  return parts.join(', ');
}

/** Replace the whole signature library (overrides of ids that no longer exist are dropped). */
export function pushSignatures(c: SnapshotContent, specs: SignatureSpec[]): Change {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new StoreError('WAF_ERR_SIGNATURE_INVALID', 'refusing to push an empty signature library');
  }
  const seen = new Set<number>();
  const dupes = new Set<number>();
  for (const s of specs) {
    if (seen.has(s.id)) dupes.add(s.id);
    seen.add(s.id);
  }
  if (dupes.size) throw new StoreError('WAF_ERR_SIGNATURE_INVALID', `duplicate signature ids: ${[...dupes].join(', ')}`);
  const d = diffSignatures(c.signatures, specs);
  const overrides = Object.fromEntries(Object.entries(c.overrides).filter(([id]) => seen.has(Number(id))));
  const dropped = Object.keys(c.overrides).length - Object.keys(overrides).length;
  return {
    content: { ...c, signatures: specs, overrides },
    action: 'push',
    detail: `pushed ${specs.length} signatures: ${describeDiff(d)}${dropped ? `; dropped ${dropped} override(s) of removed ids` : ''}`,
  };
}

function validCidr(c: string): boolean {
  const [addr, bits, extra] = c.split('/');
  const fam = isIP(addr ?? '');
  if (!fam || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (fam === 4 ? 32 : 128);
}

/** Check an exclusion against the live library; returns the problems (empty = valid). */
export function exclusionProblems(c: SnapshotContent, ex: Omit<Exclusion, 'id'>): string[] {
  const problems: string[] = [];
  const rule = String(ex.rule ?? '').trim();
  if (!rule) problems.push('rule is required: a signature id, family:NAME, tag:NAME or *');
  else if (/^\d+$/.test(rule)) {
    if (!c.signatures.some((s) => s.id === Number(rule))) problems.push(`rule ${rule}: no signature with that id`);
  } else if (rule.startsWith('family:')) {
    const f = rule.slice(7);
    if (!c.signatures.some((s) => s.family === f)) problems.push(`rule ${rule}: no signature of family "${f}"`);
  } else if (rule.startsWith('tag:')) {
    const tag = rule.slice(4);
    if (!c.signatures.some((s) => s.tags.includes(tag))) problems.push(`rule ${rule}: no signature has tag "${tag}"`);
  } else if (rule !== '*') problems.push(`rule "${rule}": expected a signature id, family:NAME, tag:NAME or *`);
  if (ex.pathPrefix !== undefined && !String(ex.pathPrefix).startsWith('/')) problems.push(`pathPrefix "${ex.pathPrefix}" must start with /`);
  if (ex.pathRegex !== undefined) {
    if (String(ex.pathRegex).length > 500) problems.push('pathRegex is longer than 500 characters');
    else {
      try { new RegExp(ex.pathRegex); } catch (err) { problems.push(`pathRegex does not compile: ${(err as Error).message}`); }
    }
  }
  if (ex.target !== undefined && !/^[a-z_]+(?::[^\s:][^\s]*)?$/.test(String(ex.target))) {
    problems.push(`target "${ex.target}": expected collection or collection:key, e.g. args:comment, headers:user-agent`);
  }
  if (ex.site !== undefined && !/^[A-Za-z0-9.*_-]{1,253}$/.test(String(ex.site))) problems.push(`site "${ex.site}" is not a site name`);
  for (const cidr of ex.cidrs ?? []) if (!validCidr(String(cidr))) problems.push(`cidr "${cidr}" is not an IP or CIDR`);
  if (rule === '*' && !ex.site && !ex.pathPrefix && !ex.pathRegex && !ex.target && !ex.cidrs?.length) {
    problems.push('rule * with no site, path, target or cidrs would switch inspection off everywhere; use `mode set SITE off` instead');
  }
  return problems;
}

const sameScope = (a: Omit<Exclusion, 'id' | 'note'>, b: Omit<Exclusion, 'id' | 'note'>) =>
  a.rule === b.rule && a.site === b.site && a.pathPrefix === b.pathPrefix && a.pathRegex === b.pathRegex
  && a.target === b.target && JSON.stringify(a.cidrs ?? []) === JSON.stringify(b.cidrs ?? []);

export function describeExclusion(ex: Exclusion): string {
  const where = [
    ex.site && `site ${ex.site}`, ex.pathPrefix && `path ${ex.pathPrefix}*`, ex.pathRegex && `path ~ /${ex.pathRegex}/`,
    ex.target && `target ${ex.target}`, ex.cidrs?.length && `clients ${ex.cidrs.join(',')}`,
  ].filter(Boolean).join(', ');
  return `${ex.id}: rule ${ex.rule}${where ? ` for ${where}` : ' everywhere'}`;
}

/** Add an exclusion (rule id or tag × path × target × site × cidrs), refusing invalid or duplicate ones. */
export function addExclusion(c: SnapshotContent, input: Omit<Exclusion, 'id'> & { id?: string }): Change {
  const ex: Exclusion = {
    id: input.id ?? `ex-${randomBytes(4).toString('hex')}`,
    rule: String(input.rule ?? '').trim(),
    ...(input.site !== undefined && { site: input.site }),
    ...(input.pathPrefix !== undefined && { pathPrefix: input.pathPrefix }),
    ...(input.pathRegex !== undefined && { pathRegex: input.pathRegex }),
    ...(input.target !== undefined && { target: input.target }),
    ...(input.cidrs?.length && { cidrs: input.cidrs }),
    ...(input.note !== undefined && { note: input.note }),
  };
  const problems = exclusionProblems(c, ex);
  if (problems.length) throw new StoreError('WAF_ERR_EXCLUSION_INVALID', `exclusion refused: ${problems.join('; ')}`, problems);
  if (c.exclusions.some((e) => e.id === ex.id)) throw new StoreError('WAF_ERR_EXCLUSION_INVALID', `an exclusion with id ${ex.id} exists`);
  const dup = c.exclusions.find((e) => sameScope(e, ex));
  if (dup) throw new StoreError('WAF_ERR_EXCLUSION_INVALID', `the same exclusion exists already (${dup.id})`);
  return { content: { ...c, exclusions: [...c.exclusions, ex] }, action: 'exclusion-add', detail: `added exclusion ${describeExclusion(ex)}` };
}

export function removeExclusion(c: SnapshotContent, id: string): Change {
  const ex = c.exclusions.find((e) => e.id === id);
  if (!ex) throw new StoreError('WAF_ERR_EXCLUSION_UNKNOWN', `no exclusion with id ${id}`);
  return { content: { ...c, exclusions: c.exclusions.filter((e) => e.id !== id) }, action: 'exclusion-remove', detail: `removed exclusion ${describeExclusion(ex)}` };
}

/** Set a site's mode (block, detect or off). */
export function setMode(c: SnapshotContent, site: string, mode: string): Change {
  if (!/^[A-Za-z0-9.*_-]{1,253}$/.test(site ?? '')) throw new StoreError('WAF_ERR_MODE_INVALID', `site "${site}" is not a site name`);
  if (!MODES.includes(mode as Mode)) throw new StoreError('WAF_ERR_MODE_INVALID', `mode must be block, detect or off (got ${mode})`);
  const before = c.siteModes[site];
  return {
    content: { ...c, siteModes: { ...c.siteModes, [site]: mode as Mode } },
    action: 'mode',
    detail: `site ${site}: ${before ?? '(config default)'} → ${mode}`,
  };
}
