/**
 * Admin API for the rate-limit policies kept in the rule store (snapshot.ratePolicies, followed by every instance's
 * rate limiter): list, set (add or replace by name), remove. Changes need an admin token, whose name the audit records.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RuleService } from '../store/rule-service.ts';
import { ratePolicyBody, removeRatePolicy, setRatePolicy } from '../store/rate-policy-changes.ts';
import { StoreError } from '../store/errors.ts';
import { author, parse, storeErrorHandler } from './rules-routes.ts';

export interface RateLimitRoutesOptions {
  rules: RuleService<unknown>;
}

const nameParam = z.object({ name: z.string().min(1).max(100) });

export async function ratelimitRoutes(app: FastifyInstance, opts: RateLimitRoutesOptions): Promise<void> {
  const { rules } = opts;
  const snap = () => rules.live.live().snapshot;
  app.setErrorHandler(storeErrorHandler);

  app.get('/ratelimit/policies', async () => ({ version: snap().version, policies: snap().ratePolicies ?? [] }));

  app.put('/ratelimit/policies/:name', async (req) => {
    const who = author(req);
    const { name } = parse(nameParam, req.params, 'WAF_ERR_POLICY_INVALID');
    const body = parse(ratePolicyBody, req.body, 'WAF_ERR_POLICY_INVALID');
    if (body.name !== undefined && body.name !== name) {
      throw new StoreError('WAF_ERR_POLICY_INVALID', `the body names policy ${String(body.name)} but the path ${name}; nothing changed`);
    }
    return rules.apply((s) => setRatePolicy(s, { ...body, name }), who);
  });

  app.delete('/ratelimit/policies/:name', async (req) => {
    const who = author(req);
    const { name } = parse(nameParam, req.params, 'WAF_ERR_POLICY_INVALID');
    return rules.apply((s) => removeRatePolicy(s, name), who);
  });
}
