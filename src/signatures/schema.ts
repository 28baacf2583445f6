/** The zod schema of a signature YAML file (`{ family, signatures: [SignatureSpec…] }`), a profile, and an exclusion. */

import { z } from 'zod';

export const SEVERITIES = ['critical', 'error', 'warning', 'notice'] as const;

/** A plain string is `GET <string>`; headers given as `null` remove a default header (Host, User-Agent, Accept). */
export const exampleRequestSchema = z.union([
  z.string().min(1),
  z.strictObject({
    method: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP method token').optional(),
    uri: z.string().min(1),
    headers: z.record(z.string(), z.union([z.string(), z.null()])).optional(),
    body: z.string().optional(),
  }),
]);

const selector = z.string().regex(/^!?(?:count:)?[a-z_]+(?::.+)?$/, 'expected a target selector like args, args:q, !args:csrf, headers:user-agent, count:args');

export const signatureSchema = z.strictObject({
  id: z.number().int().min(1).max(999_999),
  name: z.string().min(1),
  family: z.string().min(1),
  paranoia: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  severity: z.enum(SEVERITIES),
  targets: z.array(selector).min(1),
  transforms: z.array(z.string()).default([]),
  operator: z.string().min(1),
  pattern: z.union([z.string(), z.array(z.string()), z.number()]).optional(),
  tags: z.array(z.string()).default([]),
  description: z.string().optional(),
  examples: z.strictObject({
    match: z.array(exampleRequestSchema).min(1, 'every signature needs at least one examples.match'),
    pass: z.array(exampleRequestSchema).min(1, 'every signature needs at least one examples.pass'),
  }),
});

export const signatureFileSchema = z.strictObject({
  family: z.string().min(1),
  signatures: z.array(z.unknown()),
});

export const exclusionSchema = z.strictObject({
  id: z.string().min(1),
  rule: z.union([z.string().regex(/^(?:\*|\d+|family:.+|tag:.+)$/, 'expected a signature id, family:NAME, tag:NAME or *'), z.number().int().transform(String)]),
  site: z.string().min(1).optional(),
  pathPrefix: z.string().startsWith('/').optional(),
  pathRegex: z.string().min(1).optional(),
  target: selector.optional(),
  cidrs: z.array(z.string().min(1)).min(1).optional(),
  note: z.string().optional(),
});

export const profileFileSchema = z.strictObject({
  profile: z.string().min(1),
  exclusions: z.array(exclusionSchema),
});

/** One line per problem: `path: message`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
