/** Request and response header rewriting: hop-by-hop removal (RFC 9110 §7.6.1), X-Forwarded-* / Forwarded, backend hiding. */
import { isIP } from 'node:net';

/** Hop-by-hop and proxy-only request headers never forwarded as received (Content-Length is recomputed from the body). */
const REQUEST_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'expect', 'content-length', 'host',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'x-real-ip',
]);

/**
 * Client-address and scheme headers other proxies and CDNs set. From a client that is not a trusted proxy they are
 * spoofing (a backend reading X-Real-IP or True-Client-IP would believe them), so they are dropped.
 */
const UNTRUSTED_DROP = new Set([
  'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'x-cluster-client-ip', 'fastly-client-ip', 'x-original-forwarded-for',
  'x-forwarded-port', 'x-forwarded-ssl', 'x-forwarded-scheme', 'x-forwarded-server', 'x-forwarded-prefix', 'x-url-scheme', 'front-end-https',
]);

/** Hop-by-hop response headers (a backend's `Connection: close` must not close the client's connection). */
const RESPONSE_DROP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'];

/** Header names listed in a Connection header value (lower case). */
export function connectionTokens(value: string | string[] | undefined): string[] {
  if (!value) return [];
  const s = Array.isArray(value) ? value.join(',') : value;
  const out: string[] = [];
  for (const t of s.split(',')) {
    const n = t.trim().toLowerCase();
    if (n) out.push(n);
  }
  return out;
}

export interface ForwardInfo {
  /** TCP peer (normalised). */
  peer: string;
  /** Real client IP (sent as X-Real-IP). */
  clientIp: string;
  /** True when the peer is in trustedProxies. */
  trustedPeer: boolean;
  requestId: string;
  /** Send the client's Host upstream (else undici sets the upstream's host). */
  preserveHost: boolean;
  /** The request arrived over TLS (X-Forwarded-Proto / Forwarded proto=https). */
  tls?: boolean;
}

function forwardedNode(ip: string): string {
  return isIP(ip) === 6 ? `"[${ip}]"` : ip;
}

function quoteIfNeeded(v: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Build the upstream request headers from Node's rawHeaders (order, case and repeats kept) as a flat
 * [name, value, ...] list. From an untrusted peer, X-Forwarded-* and Forwarded are replaced; from a trusted
 * proxy, ours is appended to theirs.
 */
export function upstreamRequestHeaders(raw: readonly string[], info: ForwardInfo): string[] {
  let drop: Set<string> | null = null;
  let host = '';
  let xff: string | null = null;
  let xfProto: string | null = null;
  let xfHost: string | null = null;
  let fwd: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].toLowerCase();
    if (n === 'connection') {
      for (const t of connectionTokens(raw[i + 1])) (drop ??= new Set()).add(t);
    } else if (n === 'host') host = raw[i + 1];
    else if (info.trustedPeer) {
      if (n === 'x-forwarded-for') xff = xff === null ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
      else if (n === 'x-forwarded-proto') xfProto ??= raw[i + 1];
      else if (n === 'x-forwarded-host') xfHost ??= raw[i + 1];
      else if (n === 'forwarded') fwd = fwd === null ? raw[i + 1] : `${fwd}, ${raw[i + 1]}`;
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].toLowerCase();
    if (REQUEST_DROP.has(n) || (drop !== null && drop.has(n)) || (!info.trustedPeer && UNTRUSTED_DROP.has(n))) continue;
    out.push(raw[i], raw[i + 1]);
  }
  if (info.preserveHost && host) out.push('host', host);
  const proto = xfProto ?? (info.tls ? 'https' : 'http');
  const fHost = xfHost ?? host;
  out.push('x-forwarded-for', xff ? `${xff}, ${info.peer}` : info.peer);
  out.push('x-forwarded-proto', proto);
  if (fHost) out.push('x-forwarded-host', fHost);
  const ours = `for=${forwardedNode(info.peer)}${host ? `;host=${quoteIfNeeded(host)}` : ''};proto=${info.tls ? 'https' : 'http'}`;
  out.push('forwarded', fwd ? `${fwd}, ${ours}` : ours);
  out.push('x-real-ip', info.clientIp);
  out.push('x-request-id', info.requestId);
  return out;
}

/** Remove hop-by-hop, Connection-listed and identifying headers from an upstream response (returns a new object). */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  strip: ReadonlySet<string>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionTokens(headers.connection);
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || strip.has(k)) continue;
    if (RESPONSE_DROP.includes(k) || (listed.length && listed.includes(k))) continue;
    out[k] = v;
  }
  return out;
}
