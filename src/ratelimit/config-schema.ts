/** The `rateLimit` config section: defaults, validation (zod) and its conversion into the service's settings. */
import { z } from 'zod';
import { isCidr } from './allow-list.ts';
import { DEFAULT_RATE_LIMIT, type RateLimitConfig } from './service.ts';

const positive = z.number().positive();
const cidr = z.string().refine(isCidr, 'expected an IP address or CIDR such as 10.0.0.0/8');

const policyKey = z.union([
  z.literal('ip'),
  z.strictObject({ header: z.string().min(1) }),
  z.strictObject({ field: z.string().min(1), withIp: z.boolean().optional() }),
  z.strictObject({ cookie: z.string().min(1) }),
]);

const policy = z.strictObject({
  name: z.string().min(1),
  site: z.string().optional(),
  pathPrefix: z.string().startsWith('/').optional(),
  pathRegex: z.string().refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, 'expected a valid regular expression').optional(),
  methods: z.array(z.string().regex(/^[A-Za-z]+$/)).optional(),
  key: policyKey.default('ip'),
  points: z.number().int().positive(),
  durationSec: positive,
  burst: z.number().int().positive().optional(),
  blockSec: positive.optional(),
});

const login = z.strictObject({
  name: z.string().min(1),
  pathPrefix: z.string().startsWith('/'),
  methods: z.array(z.string()).optional(),
  field: z.string().min(1).default('username'),
  failureStatus: z.array(z.number().int().min(100).max(599)).min(1),
  perUserIp: z.strictObject({ points: z.number().int().positive(), durationSec: positive, blockSec: positive.optional() }),
  perIpDay: z.strictObject({ points: z.number().int().positive() }).optional(),
});

export const rateLimitSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    ipv6Prefix: z.number().int().min(1).max(128).default(DEFAULT_RATE_LIMIT.ipv6Prefix),
    global: z
      .union([z.null(), z.strictObject({ points: z.number().int().positive(), durationSec: positive, blockSec: positive.optional() })])
      .default(DEFAULT_RATE_LIMIT.global ?? null),
    policies: z.array(policy).default([]),
    escalation: z.strictObject({ factor: z.number().min(1), maxBlockSec: positive, windowSec: positive }).default(DEFAULT_RATE_LIMIT.escalation),
    attackBan: z
      .union([z.null(), z.strictObject({ threshold: z.number().int().positive(), windowSec: positive, banSec: positive })])
      .default(DEFAULT_RATE_LIMIT.attackBan),
    login: z.array(login).default([]),
    allow: z.array(cidr).default([]),
    /** Requests in flight per client (0 = no cap). */
    maxInFlightPerIp: z.number().int().min(0).default(0),
    /** Concurrent connections per peer address (0 = no cap). */
    maxConnectionsPerIp: z.number().int().min(0).default(0),
  })
  .prefault({});

export type RateLimitSection = z.output<typeof rateLimitSchema>;

export function toServiceConfig(s: RateLimitSection): RateLimitConfig {
  return {
    ipv6Prefix: s.ipv6Prefix,
    global: s.global,
    policies: s.policies,
    escalation: s.escalation,
    attackBan: s.attackBan,
    login: s.login,
    allow: s.allow,
  };
}
