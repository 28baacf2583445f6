/** Per-site `responseInspection` settings (issue 8): off by default. */
import { z } from 'zod';

export const DEFAULT_INSPECTED_TYPES = ['text/html', 'text/plain', 'application/json', 'application/problem+json', 'application/xml', 'text/xml', 'application/xhtml+xml'];

export const responseInspectionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Bodies (after decompression) up to this size are buffered and scanned; larger ones pass untouched (logged). */
  maxBytes: z.number().int().positive().max(16 * 1024 * 1024).default(256 * 1024),
  /** block → our 502 page with an event id; mask → matched text replaced; log → event only. */
  action: z.enum(['block', 'mask', 'log']).default('block'),
  /** Media types (no parameters, lower case) whose bodies are inspected. */
  types: z.array(z.string().regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/, 'expected a media type such as text/html')).min(1).default(DEFAULT_INSPECTED_TYPES),
  /** What `mask` puts in place of a match. */
  mask: z.string().max(64).default('[hidden]'),
});
export type ResponseInspectionConfig = z.output<typeof responseInspectionSchema>;
