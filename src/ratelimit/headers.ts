/** Response headers for rate-limit answers: Retry-After and the IETF draft RateLimit-* fields. */

export interface LimitState {
  limit: number;
  remaining: number;
  resetSec: number;
  windowSec: number;
}

export function rateLimitHeaders(s: LimitState, limited: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-limit': String(s.limit),
    'ratelimit-remaining': String(Math.max(0, s.remaining)),
    'ratelimit-reset': String(Math.max(0, Math.ceil(s.resetSec))),
    'ratelimit-policy': `${s.limit};w=${s.windowSec}`,
  };
  if (limited) h['retry-after'] = String(Math.max(1, Math.ceil(s.resetSec)));
  return h;
}
