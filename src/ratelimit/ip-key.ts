/** Turns a client address into a rate-limit key: IPv4 as is, IPv6 masked to a prefix (default /64) so one subnet is one client. */
import { isIPv4, isIPv6 } from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/** Expands an IPv6 address to its eight 16-bit groups. */
export function ipv6Groups(ip: string): number[] {
  const zone = ip.indexOf('%');
  let addr = zone >= 0 ? ip.slice(0, zone) : ip;
  let tail: number[] = [];
  const lastColon = addr.lastIndexOf(':');
  const maybeV4 = addr.slice(lastColon + 1);
  if (isIPv4(maybeV4)) {
    const o = maybeV4.split('.').map(Number);
    tail = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    addr = addr.slice(0, lastColon + 1) + '0';
  }
  const [head, rest] = addr.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = parse(head);
  let groups: number[];
  if (rest === undefined) groups = h;
  else {
    const r = parse(rest);
    groups = [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  }
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

/**
 * The key a client is counted under. IPv6 is masked to `v6Prefix` bits and written as
 * `2001:db8:1:2::/64`; anything that is not an IP is returned unchanged.
 */
export function clientKey(ip: string, v6Prefix = 64): string {
  const a = unmapIp(ip);
  if (!isIPv6(a)) return a;
  const groups = ipv6Groups(a);
  const bits = Math.max(0, Math.min(128, v6Prefix));
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push((groups[i] & mask).toString(16));
  }
  return `${out.join(':')}/${bits}`;
}
