/** Compiles rate-limit policies (data) into matchers and key functions, once per policy set. */
import type { RatePolicy } from '../types.ts';

/** What a policy needs to know about a request; built once per request by the plugin. */
export interface PolicyRequest {
  site: string;
  path: string;
  method: string;
  clientIp: string;
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  /** A form or JSON body field (only available in the body phase). */
  field?(name: string): string | undefined;
}

export interface CompiledPolicy {
  policy: RatePolicy;
  /** 'body' policies need a parsed body (keyed by a form/JSON field); the rest run before the body is read. */
  phase: 'request' | 'body';
  matches(req: PolicyRequest): boolean;
  /**
   * The counter key, or null when the request lacks what the policy keys on (e.g. no API key header). `ipKey` is
   * the client's key from clientKey() (IPv6 masked), computed once per request by the caller.
   */
  keyFor(req: PolicyRequest, ipKey: string): string | null;
}

/** Compiles one policy; throws with the policy name when a field is invalid. */
export function compilePolicy(policy: RatePolicy): CompiledPolicy {
  let pathRegex: RegExp | null = null;
  if (policy.pathRegex) {
    try {
      pathRegex = new RegExp(policy.pathRegex);
    } catch (err) {
      throw new Error(`rate-limit policy ${policy.name}: bad pathRegex: ${(err as Error).message}`);
    }
  }
  if (!(policy.points > 0) || !(policy.durationSec > 0)) {
    throw new Error(`rate-limit policy ${policy.name}: points and durationSec must be > 0`);
  }
  const methods = policy.methods?.map((m) => m.toUpperCase());
  const key = policy.key;
  const phase = typeof key === 'object' && 'field' in key ? 'body' : 'request';
  return {
    policy,
    phase,
    matches(req) {
      if (policy.site && policy.site !== req.site) return false;
      if (methods && !methods.includes(req.method)) return false;
      if (policy.pathPrefix && !req.path.startsWith(policy.pathPrefix)) return false;
      if (pathRegex && !pathRegex.test(req.path)) return false;
      return true;
    },
    keyFor(req, ip) {
      if (key === 'ip') return `ip:${ip}`;
      if ('header' in key) {
        const v = req.header(key.header.toLowerCase());
        return v ? `h:${v}` : null;
      }
      if ('cookie' in key) {
        const v = req.cookie(key.cookie);
        return v ? `c:${v}` : null;
      }
      const v = req.field?.(key.field);
      if (v === undefined || v === '') return null;
      const norm = v.trim().toLowerCase();
      return key.withIp === false ? `f:${norm}` : `f:${norm}|${ip}`;
    },
  };
}

export function compilePolicies(policies: RatePolicy[]): CompiledPolicy[] {
  const seen = new Set<string>();
  return policies.map((p) => {
    if (seen.has(p.name)) throw new Error(`rate-limit policy ${p.name}: duplicate name`);
    seen.add(p.name);
    return compilePolicy(p);
  });
}
