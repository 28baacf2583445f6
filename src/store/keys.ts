/** Redis key names for the rule store. All share the `{bulwark}` hash tag so one Cluster slot holds a whole snapshot. */

export interface StoreKeys {
  /** Latest version number (string integer). */
  version: string;
  /** Prefix of one snapshot's key; append the version number. */
  snapshotPrefix: string;
  /** List of kept version numbers, newest first. */
  versions: string;
  /** List of audit entries (JSON), newest first. */
  audit: string;
  /** Pub/sub channel carrying a newly published version number. */
  channel: string;
}

/** Keys under a namespace (default `bulwark`); the namespace lets tests and tenants share one Redis. */
export function storeKeys(namespace = 'bulwark'): StoreKeys {
  const tag = `{${namespace}}`;
  return {
    version: `${tag}:rules:version`,
    snapshotPrefix: `${tag}:rules:snap:`,
    versions: `${tag}:rules:versions`,
    audit: `${tag}:rules:audit`,
    channel: `${namespace}:rules:published`,
  };
}

export const snapshotKey = (k: StoreKeys, version: number): string => `${k.snapshotPrefix}${version}`;
