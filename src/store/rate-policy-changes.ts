/**
 * Pure changes to the rate-limit policies of a snapshot (`bulwark ratelimit set|remove`, PUT/DELETE
 * /api/ratelimit/policies/NAME). A policy is checked with the config file's zod schema (src/ratelimit/config-schema.ts)
 * and the whole resulting set with the rate limiter's own compiler, so a set the limiter would refuse is never stored.
 */
import { z } from 'zod';
import { rateLimitSchema } from '../ratelimit/config-schema.ts';
import { compilePolicies } from '../ratelimit/policy-match.ts';
import type { RatePolicy } from '../types.ts';
import type { Change } from './changes.ts';
import { StoreError } from './errors.ts';
import type { SnapshotContent } from './snapshot.ts';

/** One policy as the config file's `rateLimit.policies[]` takes it. */
export const ratePolicySchema = rateLimitSchema.unwrap().shape.policies.unwrap().element;

/** The rate limiter names the config's global ceiling so; a policy of that name would clash with it. */
const RESERVED = 'global-ip';
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

function keyText(k: RatePolicy['key']): string {
  if (k === 'ip') return 'ip';
  if ('header' in k) return `header ${k.header}`;
  if ('cookie' in k) return `cookie ${k.cookie}`;
  return `field ${k.field}${k.withIp === false ? '' : ' + ip'}`;
}

/** One line for a policy: `login: 5 per 60 s by field username + ip, block 300 s, POST /login*`. */
export function describePolicy(p: RatePolicy): string {
  const scope = [
    p.site && `site ${p.site}`, p.methods?.length && p.methods.map((m) => m.toUpperCase()).join(','),
    p.pathPrefix && `${p.pathPrefix}*`, p.pathRegex && `path ~ /${p.pathRegex}/`,
  ].filter(Boolean).join(' ');
  return `${p.name}: ${p.points} per ${p.durationSec} s by ${keyText(p.key)}${p.burst ? `, burst ${p.burst}` : ''}${p.blockSec ? `, block ${p.blockSec} s` : ''}${scope ? `, ${scope}` : ', every request'}`;
}

/** Validate one policy (schema, name) and return it normalised; throws WAF_ERR_POLICY_INVALID listing each problem. */
export function parseRatePolicy(input: unknown): RatePolicy {
  const r = ratePolicySchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(policy)'}: ${i.message}`);
    throw new StoreError('WAF_ERR_POLICY_INVALID', `rate-limit policy refused, nothing changed: ${problems.join('; ')}`, problems);
  }
  const p = r.data as RatePolicy;
  if (!NAME.test(p.name)) throw new StoreError('WAF_ERR_POLICY_INVALID', `rate-limit policy name "${p.name}": use 1-100 letters, digits, dot, dash or underscore`);
  if (p.name === RESERVED) throw new StoreError('WAF_ERR_POLICY_INVALID', `rate-limit policy name "${RESERVED}" is the global ceiling's (rateLimit.global in the config file)`);
  return p;
}

function withPolicies(c: SnapshotContent, ratePolicies: RatePolicy[]): SnapshotContent {
  try {
    compilePolicies(ratePolicies);
  } catch (err) {
    throw new StoreError('WAF_ERR_POLICY_INVALID', `rate-limit policies refused, nothing changed: ${(err as Error).message}`);
  }
  return { ...c, ratePolicies };
}

/** Add the policy, or replace the one of the same name (as a whole: fields not given are dropped). */
export function setRatePolicy(c: SnapshotContent, input: unknown): Change {
  const p = parseRatePolicy(input);
  const list = c.ratePolicies ?? [];
  const i = list.findIndex((x) => x.name === p.name);
  if (i < 0) {
    return { content: withPolicies(c, [...list, p]), action: 'ratelimit-add', detail: `added rate-limit policy ${describePolicy(p)}` };
  }
  if (JSON.stringify(list[i]) === JSON.stringify(p)) {
    throw new StoreError('WAF_ERR_POLICY_INVALID', `rate-limit policy ${p.name} is already exactly that; nothing changed`);
  }
  const next = list.map((x, k) => (k === i ? p : x));
  return { content: withPolicies(c, next), action: 'ratelimit-set', detail: `changed rate-limit policy ${describePolicy(list[i])} → ${describePolicy(p)}` };
}

export function removeRatePolicy(c: SnapshotContent, name: string): Change {
  const list = c.ratePolicies ?? [];
  const old = list.find((x) => x.name === name);
  if (!old) {
    const known = list.map((x) => x.name);
    throw new StoreError('WAF_ERR_POLICY_UNKNOWN', `no rate-limit policy named ${name} (${known.length ? `known: ${known.join(', ')}` : 'there are none'})`);
  }
  return { content: { ...c, ratePolicies: list.filter((x) => x.name !== name) }, action: 'ratelimit-remove', detail: `removed rate-limit policy ${describePolicy(old)}` };
}

/** The body of PUT /ratelimit/policies/:name: the policy, its name optional (taken from the path). */
export const ratePolicyBody = z.record(z.string(), z.unknown());
