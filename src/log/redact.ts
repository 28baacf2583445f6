/** Removes secrets from an event before it leaves the process: credential headers, cookie values, password-like fields, tokens, card numbers. */
import type { Match, WafEvent } from '../types.ts';

export const CENSOR = '[redacted]';

export interface RedactOptions {
  /** Extra field/header/cookie names (case-insensitive, exact) whose values are always hidden. */
  names?: string[];
  /** Extra regex sources; every match in any text of the event is replaced. */
  patterns?: string[];
}

/** Names whose values are secrets wherever they appear (header, cookie, argument, JSON key). */
const SECRET_NAME = /pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|session|sessid|credential|^auth$|authorization|cookie|csrf|xsrf|otp|cvv|cvc|card[-_]?(?:number|no)|ccnum|ssn/i;

/** Headers hidden entirely. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'x-auth-token', 'x-csrftoken', 'x-csrf-token', 'x-xsrf-token']);

/** Text patterns: auth schemes, JWTs, `name=value` / `"name": "value"` with a secret name. */
const TEXT_RULES: Array<[RegExp, (m: string, ...g: string[]) => string]> = [
  [/\b(Bearer|Basic|Digest|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, (_m, scheme) => `${scheme} ${CENSOR}`],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, () => CENSOR],
  // name=value in query strings, form bodies, cookies (value up to a separator)
  [/([A-Za-z0-9_.[\]-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|session|sessid|credential|csrf|xsrf|cvv|ccnum)[A-Za-z0-9_.[\]-]*)(=|%3[dD])([^&;\s"']*)/gi, (_m, n, eq) => `${n}${eq}${CENSOR}`],
  // "name": "value" / 'name': 'value' in JSON-ish text
  [/(["']?[A-Za-z0-9_-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|session|credential|csrf|cvv)[A-Za-z0-9_-]*["']?\s*:\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,}\s]+)/gi, (_m, lhs) => `${lhs}"${CENSOR}"`],
];

/** Digit runs of 13–19 digits, optionally split by single spaces or dashes. */
const CARD_LIKE = /(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])/g;

/** Luhn checksum over the digits of s. */
export function luhn(s: string): boolean {
  const digits = s.replace(/[^0-9]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export interface Redactor {
  /** Redact free text (URL, excerpt, header value). */
  text(s: string): string;
  /** True when a field/header/cookie/argument name holds secrets. */
  secretName(name: string): boolean;
  /** A redacted copy of the event. */
  event(e: WafEvent): WafEvent;
}

/** Build a redactor from config (`events.redact: { names, patterns }`). Invalid patterns throw at start. */
export function createRedactor(opts: RedactOptions = {}): Redactor {
  const names = new Set((opts.names ?? []).map((n) => n.toLowerCase()));
  const extra = (opts.patterns ?? []).map((p) => new RegExp(p, 'gi'));
  const secretName = (name: string) => names.has(name.toLowerCase()) || SECRET_NAME.test(name);

  const text = (s: string): string => {
    if (!s) return s;
    let out = s;
    // Percent-decoded view is not needed: name=value rules match %3D too, and card digits are plain.
    for (const [re, fn] of TEXT_RULES) out = out.replace(re, fn as (m: string, ...g: string[]) => string);
    for (const n of names) {
      const esc = n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(`(${esc})(=|%3[dD]|["']?\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|[^&;\\s,}"']*)`, 'gi'), (_m, a, b) => (b.includes(':') ? `${a}${b}"${CENSOR}"` : `${a}${b}${CENSOR}`));
    }
    out = out.replace(CARD_LIKE, (m) => (luhn(m) ? '[card]' : m));
    for (const re of extra) out = out.replace(re, CENSOR);
    return out;
  };

  const cookieHeader = (v: string) =>
    v.split(/;\s*/).map((pair) => {
      const i = pair.indexOf('=');
      return i < 0 ? CENSOR : `${pair.slice(0, i)}=${CENSOR}`;
    }).join('; ');

  const header = (name: string, value: string): string => {
    const n = name.toLowerCase();
    if (n === 'cookie' || n === 'set-cookie') return cookieHeader(value);
    if (SECRET_HEADERS.has(n) || names.has(n) || (SECRET_NAME.test(n) && n !== 'x-forwarded-for')) return CENSOR;
    return text(value);
  };

  /** A target such as `args:password`, `cookies:sessionid`, `headers:authorization`, `json:$.user.password`. */
  const secretTarget = (target: string): boolean => {
    const i = target.indexOf(':');
    if (i < 0) return false;
    const collection = target.slice(0, i).toLowerCase();
    const key = target.slice(i + 1);
    if (collection.startsWith('cookies') && key) return true;
    if (collection.startsWith('headers')) return header(key, 'x') === CENSOR || key.toLowerCase() === 'cookie';
    const last = key.split(/[.[\]$]+/).filter(Boolean).pop() ?? key;
    return secretName(last) || secretName(key);
  };

  const match = (m: Match): Match =>
    secretTarget(m.target) ? { ...m, value: CENSOR, matched: CENSOR } : { ...m, value: text(m.value), matched: text(m.matched) };

  return {
    text,
    secretName,
    event(e: WafEvent): WafEvent {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.headers)) headers[k] = header(k, v);
      const out: WafEvent = { ...e, url: text(e.url), headers, matches: e.matches.map(match) };
      if (e.findings) out.findings = e.findings.map((f) => ({ ...f, message: text(f.message) }));
      return out;
    },
  };
}
