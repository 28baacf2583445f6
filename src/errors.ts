/** The one table of stable Bulwark error codes (WAF_ERR_*): status and neutral message; tests assert codes, not wording. */

export const ERRORS = {
  WAF_ERR_CONFIG_INVALID: { status: 500, message: 'The configuration is invalid.' },
  WAF_ERR_SIGNATURE_INVALID: { status: 400, message: 'A signature is invalid.' },
  WAF_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  WAF_ERR_BLOCKED: { status: 403, message: 'The request was blocked.' },
  WAF_ERR_NOT_FOUND: { status: 404, message: 'Not found.' },
  WAF_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  WAF_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive.' },
  WAF_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  /** More arguments (query, form fields, JSON leaves, XML values) than the inspection reads, under bodyPolicy reject. */
  WAF_ERR_TOO_MANY_ARGS: { status: 413, message: 'The request has too many arguments.' },
  WAF_ERR_URI_TOO_LONG: { status: 414, message: 'The request URI is too long.' },
  WAF_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request Content-Type is not accepted.' },
  WAF_ERR_UNKNOWN_HOST: { status: 421, message: 'This host is not served here.' },
  WAF_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  WAF_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large or too many.' },
  WAF_ERR_INTERNAL: { status: 500, message: 'Internal error.' },
  WAF_ERR_UPSTREAM_UNAVAILABLE: { status: 502, message: 'The service is unavailable.' },
  WAF_ERR_SHUTTING_DOWN: { status: 503, message: 'The service is temporarily unavailable.' },
  WAF_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'The service took too long to answer.' },
  /** More requests waiting for inspection than the inspection thread is allowed to hold (inspection.thread). */
  WAF_ERR_OVERLOADED: { status: 503, message: 'The service is temporarily unavailable.' },
  WAF_ERR_STORE_UNAVAILABLE: { status: 503, message: 'The rule store is unavailable.' },
  /** A pool with no healthy server (issue 8). */
  WAF_ERR_NO_UPSTREAM: { status: 503, message: 'The service is temporarily unavailable.' },
  /** The backend's answer leaked an error, a stack trace or a listing and was withheld (issue 8, responseInspection). */
  WAF_ERR_RESPONSE_BLOCKED: { status: 502, message: 'The service could not answer this request.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** The one exception class: a stable code, its HTTP status, and optional details for logs (never for clients). */
export class WafError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details?: unknown;
  constructor(code: ErrorCode, message?: string, details?: unknown, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'WafError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.details = details;
  }
}

/** The code that belongs to a status we answer with ourselves (for pages and logs). */
export function codeForStatus(status: number): ErrorCode {
  for (const [code, e] of Object.entries(ERRORS)) {
    if (e.status === status && code !== 'WAF_ERR_CONFIG_INVALID' && code !== 'WAF_ERR_SIGNATURE_INVALID' && code !== 'WAF_ERR_STORE_UNAVAILABLE') return code as ErrorCode;
  }
  return status >= 500 ? 'WAF_ERR_INTERNAL' : 'WAF_ERR_BAD_REQUEST';
}
