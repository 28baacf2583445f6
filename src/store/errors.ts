/** Errors raised by the rule store and its changes, with stable codes and the HTTP status an API answers with. */

export type StoreErrorCode =
  | 'WAF_ERR_RULE_UNKNOWN'
  | 'WAF_ERR_RULE_INVALID'
  | 'WAF_ERR_SIGNATURE_INVALID'
  | 'WAF_ERR_EXCLUSION_INVALID'
  | 'WAF_ERR_EXCLUSION_UNKNOWN'
  | 'WAF_ERR_MODE_INVALID'
  | 'WAF_ERR_POLICY_INVALID'
  | 'WAF_ERR_POLICY_UNKNOWN'
  | 'WAF_ERR_VERSION_UNKNOWN'
  | 'WAF_ERR_STORE_CONFLICT'
  | 'WAF_ERR_STORE_UNAVAILABLE'
  | 'WAF_ERR_FORBIDDEN';

const STATUS: Record<StoreErrorCode, number> = {
  WAF_ERR_RULE_UNKNOWN: 404,
  WAF_ERR_RULE_INVALID: 400,
  WAF_ERR_SIGNATURE_INVALID: 422,
  WAF_ERR_EXCLUSION_INVALID: 400,
  WAF_ERR_EXCLUSION_UNKNOWN: 404,
  WAF_ERR_MODE_INVALID: 400,
  WAF_ERR_POLICY_INVALID: 400,
  WAF_ERR_POLICY_UNKNOWN: 404,
  WAF_ERR_VERSION_UNKNOWN: 404,
  WAF_ERR_STORE_CONFLICT: 409,
  WAF_ERR_STORE_UNAVAILABLE: 503,
  WAF_ERR_FORBIDDEN: 403,
};

export class StoreError extends Error {
  readonly status: number;
  constructor(readonly code: StoreErrorCode, message: string, readonly details: string[] = []) {
    super(message);
    this.name = 'StoreError';
    this.status = STATUS[code];
  }
}
