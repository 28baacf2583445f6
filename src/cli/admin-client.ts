/** Tiny HTTP client the CLI uses to talk to the admin API (`--admin URL`, `--token` or BULWARK_ADMIN_TOKEN). */

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090';
/** Where the admin plugin mounts the JSON API. */
export const API_PREFIX = '/api';

export interface AdminConnection {
  admin?: string;
  token?: string;
}

export class AdminApiError extends Error {
  constructor(message: string, readonly status: number, readonly code: string, readonly details: string[] = []) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

export class AdminClient {
  private readonly base: string;
  private readonly token: string | undefined;

  constructor(conn: AdminConnection = {}) {
    const base = conn.admin ?? process.env.BULWARK_ADMIN_URL ?? DEFAULT_ADMIN_URL;
    let url: URL;
    try { url = new URL(base); } catch { throw new AdminApiError(`--admin ${base} is not a URL (e.g. ${DEFAULT_ADMIN_URL})`, 0, 'WAF_ERR_CLI_USAGE'); }
    this.base = url.toString().replace(/\/$/, '') + API_PREFIX;
    this.token = conn.token ?? process.env.BULWARK_ADMIN_TOKEN;
  }

  /** JSON request; a non-2xx answer throws AdminApiError carrying the API's error code and message. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
      throw new AdminApiError(`cannot reach the admin API at ${this.base} (${cause}); is Bulwark running? use --admin URL`, 0, 'WAF_ERR_ADMIN_UNREACHABLE');
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try { json = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
    if (!res.ok) {
      const msg = typeof json.message === 'string' ? json.message : `${res.status} ${res.statusText}`;
      const hint = res.status === 401 ? ' (give --token or set BULWARK_ADMIN_TOKEN)' : '';
      throw new AdminApiError(msg + hint, res.status, typeof json.error === 'string' ? json.error : `HTTP_${res.status}`, Array.isArray(json.details) ? json.details.map(String) : []);
    }
    return json as T;
  }
}

/** Run a CLI action: print its error clearly and set a non-zero exit code instead of throwing a stack trace. */
export async function runAction(io: Io, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as AdminApiError;
    io.err(`error: ${e.message}`);
    for (const d of e.details ?? []) if (!e.message.includes(d)) io.err(`  - ${d}`);
    process.exitCode = e.status === 0 && e.code === 'WAF_ERR_ADMIN_UNREACHABLE' ? 3 : 1;
  }
}

/** One line for a change the API made. */
export function changed(r: { version: number; previous?: number; detail: string }): string {
  return `${r.detail}\nnew version: ${r.version}${r.previous !== undefined ? ` (was ${r.previous})` : ''}`;
}
