/** Bulwark's own neutral error pages (HTML, or JSON when the client asks for it); they never name an upstream. */
import { codeForStatus, ERRORS, type ErrorCode } from './errors.ts';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Request blocked',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  413: 'Request too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  421: 'Unknown host',
  429: 'Too many requests',
  431: 'Request headers too large',
  500: 'Internal error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

export interface PageContext {
  requestId: string;
  eventId?: string;
  /** Stable code; derived from the status when absent. */
  code?: ErrorCode;
  /** Seconds, shown for 429/503. */
  retryAfter?: number;
}

export interface Page {
  contentType: string;
  body: string;
}

/** True when the Accept header prefers JSON over HTML. */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  const json = a.search(/application\/(?:[a-z0-9.+-]*\+)?json/);
  if (json < 0) return false;
  const html = a.indexOf('text/html');
  return html < 0 || json < html;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]);

/** Render the page for `status`. Only ids we generated go in; nothing from the request or the upstream. */
export function renderErrorPage(status: number, ctx: PageContext, accept: string | undefined): Page {
  const code = ctx.code ?? codeForStatus(status);
  const title = TITLES[status] ?? (status >= 500 ? 'Service error' : 'Request error');
  const message = ERRORS[code]?.message ?? title;
  if (wantsJson(accept)) {
    const error: Record<string, unknown> = { status, code, message, requestId: ctx.requestId };
    if (ctx.eventId) error.eventId = ctx.eventId;
    if (ctx.retryAfter !== undefined) error.retryAfter = ctx.retryAfter;
    return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error }) };
  }
  const lines = [`<p>${esc(message)}</p>`];
  if (ctx.eventId) lines.push(`<p>If you think this is a mistake, contact the site owner and quote event <strong><code>${esc(ctx.eventId)}</code></strong>.</p>`);
  if (ctx.retryAfter !== undefined) lines.push(`<p>Try again in ${ctx.retryAfter} seconds.</p>`);
  lines.push(`<p class="id">Request id: <code>${esc(ctx.requestId)}</code></p>`);
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${status} ${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}h1{font-size:1.5rem}.id{color:#555;font-size:.875rem}</style>
</head><body><main><h1>${status} ${esc(title)}</h1>
${lines.join('\n')}
</main></body></html>
`;
  return { contentType: 'text/html; charset=utf-8', body };
}
