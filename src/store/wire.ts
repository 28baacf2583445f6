/** index.ts hook for issue 5: load the local library, start the store + live ruleset, and add them to Services. */
import type { BulwarkConfig } from '../config.ts';
import type { Services } from '../services.ts';
import { compileSnapshot, loadLibrary, usableLibrary } from './compile.ts';
import { baseContent, setupRules, signaturesDir, storeLogger, type RedisSection, type RulesSetup } from './setup.ts';
import type { CompiledRuleset } from '../inspect/engine.ts';
import type { WarmContext } from '../inspect/compile-async.ts';
import { profileExclusions } from '../signatures/profiles.ts';

/**
 * services.rules (live holder: current(), live(), modeFor(site), status()), services.store (change service used by
 * the admin routes), a /readyz check, the /api rules routes (after the admin plugin's auth) and closing on shutdown.
 */
export async function setupStore(config: BulwarkConfig, services: Services): Promise<RulesSetup<CompiledRuleset>> {
  const log = storeLogger(services.logger);
  const dir = signaturesDir(config as unknown as { inspection?: Record<string, unknown> });
  const library = usableLibrary(loadLibrary(dir), log);
  // Profiles switched on in the config file apply on top of whatever snapshot is live (they are config, not store data).
  const fromProfiles = profileExclusions(config, dir);
  const warm = warmContexts(config);
  const memo = config.inspection.memo;
  const r = await setupRules<CompiledRuleset>({
    redis: config.redis as RedisSection,
    base: baseContent(library, config as unknown as Parameters<typeof baseContent>[1]),
    compile: async (content, version) => {
      const rs = await compileSnapshot(fromProfiles.length ? { ...content, exclusions: [...content.exclusions, ...fromProfiles] } : content, version, warm, memo);
      // The inspection thread compiles its copy before the swap, so no request waits for it after.
      await services.inspectionThreads?.prepare(rs).catch((err: Error) => log.warn(`inspection thread did not compile version ${version} ahead (it will on first use): ${err.message}`));
      return rs;
    },
    log,
  });
  services.store = r.service;
  services.rules = r.live;
  (services.readiness ??= []).push(r.readiness);
  (services.adminPlugins ??= []).push(r.adminPlugin as unknown as NonNullable<Services['adminPlugins']>[number]);
  (services.onClose ??= []).push(() => r.close());
  return r;
}

/** The plans every site serves at its root, built before a new version goes live (others are built on first use). */
export function warmContexts(config: BulwarkConfig): WarmContext[] {
  const out: WarmContext[] = [{ paranoia: config.paranoia, site: 'default' }];
  for (const site of config.sites) out.push({ paranoia: site.paranoia ?? config.paranoia, site: site.name });
  return out;
}
