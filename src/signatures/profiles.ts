/** Turns the profiles a config switches on (`inspection.profiles` for every site, `sites[].profiles` for one) into exclusions. */
import { join } from 'node:path';
import type { Exclusion } from '../types.ts';
import { readProfiles } from './loader.ts';

export interface ProfileConfig {
  inspection?: Record<string, unknown>;
  sites?: Array<{ name: string; profiles?: string[] }>;
}

/**
 * The exclusions of every enabled profile: global ones as written, site ones scoped to their site (an exclusion
 * that already names another site is left out for that site). Throws naming an unknown profile.
 */
export function profileExclusions(config: ProfileConfig, signaturesDir: string): Exclusion[] {
  const listed = config.inspection?.profiles;
  const global = Array.isArray(listed) ? listed.map(String) : [];
  const perSite = (config.sites ?? []).filter((s) => s.profiles?.length);
  if (global.length === 0 && perSite.length === 0) return [];
  const available = readProfiles(join(signaturesDir, 'profiles'));
  const get = (name: string, where: string): Exclusion[] => {
    const list = available[name];
    if (!list) throw new Error(`${where}: unknown profile "${name}" (available: ${Object.keys(available).join(', ') || 'none'})`);
    return list;
  };
  const out: Exclusion[] = [];
  for (const name of global) for (const ex of get(name, 'inspection.profiles')) out.push({ ...ex, id: `profile:${name}:${ex.id}` });
  for (const site of perSite) {
    for (const name of site.profiles!) {
      for (const ex of get(name, `sites.${site.name}.profiles`)) {
        if (ex.site && ex.site !== site.name) continue;
        out.push({ ...ex, id: `profile:${name}:${site.name}:${ex.id}`, site: site.name });
      }
    }
  }
  return out;
}
