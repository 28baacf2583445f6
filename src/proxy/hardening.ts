/** Response hardening per site: standard security headers added when the backend did not set its own. */
import { z } from 'zod';

export const securityHeadersSchema = z.union([
  z.boolean(),
  /** Header name (lower case) → value; false/'' removes a default. */
  z.record(z.string().regex(/^[a-z0-9-]+$/), z.union([z.string(), z.literal(false)])),
]);
export type SecurityHeadersConfig = z.output<typeof securityHeadersSchema>;

export const DEFAULT_SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** The headers to add for a site setting (empty when off). */
export function securityHeaders(cfg: SecurityHeadersConfig | undefined): Array<[string, string]> {
  if (!cfg) return [];
  const merged: Record<string, string | false> = { ...DEFAULT_SECURITY_HEADERS, ...(cfg === true ? {} : cfg) };
  return Object.entries(merged).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '');
}
