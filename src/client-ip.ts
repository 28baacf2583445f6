/** The real client IP: the TCP peer, or — when the peer is a trusted proxy — the rightmost untrusted X-Forwarded-For hop. */
import { BlockList, isIP } from 'node:net';

/** Strip an IPv4-mapped IPv6 prefix and brackets/zone so addresses compare as they are written in CIDRs. */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  if (s.startsWith('[')) s = s.slice(1, s.indexOf(']') > 0 ? s.indexOf(']') : undefined);
  const zone = s.indexOf('%');
  if (zone > 0) s = s.slice(0, zone);
  if (s.toLowerCase().startsWith('::ffff:') && isIP(s.slice(7)) === 4) s = s.slice(7);
  return s;
}

/** A set of trusted CIDRs with a fast "is this peer trusted" check. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;
  constructor(cidrs: readonly string[]) {
    this.empty = cidrs.length === 0;
    for (const c of cidrs) {
      const [ip, bits] = c.split('/');
      const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(bits), type);
    }
  }
  has(ip: string): boolean {
    if (this.empty) return false;
    const v = isIP(ip);
    if (!v) return false;
    return this.list.check(ip, v === 6 ? 'ipv6' : 'ipv4');
  }
}

/** One X-Forwarded-For entry → an IP, or null when it is not an address (ports and brackets tolerated). */
function parseHop(entry: string): string | null {
  let s = entry.trim();
  if (!s) return null;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    s = s.slice(1, end);
  } else if (s.indexOf(':') === s.lastIndexOf(':') && s.includes('.')) {
    s = s.split(':')[0]; // 1.2.3.4:5678
  }
  s = normalizeIp(s);
  return isIP(s) ? s : null;
}

/**
 * Walk X-Forwarded-For from the right while the hop is trusted; the first untrusted hop is the client.
 * An untrusted peer is the client (its X-Forwarded-For is ignored). A malformed hop stops the walk at the
 * last address we could vouch for.
 */
export function clientIp(peer: string, xff: string | string[] | undefined, trusted: TrustedProxies): string {
  const p = normalizeIp(peer);
  if (!xff || !trusted.has(p)) return p;
  const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  let current = p;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseHop(hops[i]);
    if (hop === null) return current;
    current = hop;
    if (!trusted.has(hop)) return hop;
  }
  return current;
}
