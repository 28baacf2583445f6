/** A CIDR allow-list: clients in it are never rate-limited or banned (allow-list beats ban). */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { unmapIp } from './ip-key.ts';

export class CidrSet {
  private list = new BlockList();
  readonly cidrs: string[] = [];
  /** Answers already computed (BlockList.check builds a SocketAddress each time); bounded, cleared on add. */
  private memo = new Map<string, boolean>();

  constructor(cidrs: Iterable<string> = []) {
    for (const c of cidrs) this.add(c);
  }

  /** Adds `a.b.c.d/n`, `x::/n` or a single address; throws on anything else. */
  add(cidr: string): void {
    const [addr, bitsText] = cidr.trim().split('/');
    const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (!family) throw new Error(`not an IP or CIDR: ${cidr}`);
    const max = family === 'ipv4' ? 32 : 128;
    const bits = bitsText === undefined ? max : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`bad prefix length in ${cidr}`);
    this.list.addSubnet(addr, bits, family);
    this.cidrs.push(`${addr}/${bits}`);
    this.memo.clear();
  }

  has(ip: string): boolean {
    if (this.cidrs.length === 0) return false;
    const known = this.memo.get(ip);
    if (known !== undefined) return known;
    const a = unmapIp(ip);
    const yes = isIPv4(a) ? this.list.check(a, 'ipv4') : isIPv6(a) ? this.list.check(a, 'ipv6') : false;
    if (this.memo.size >= 10_000) this.memo.clear();
    this.memo.set(ip, yes);
    return yes;
  }
}

/** True when `cidr` parses as an address or subnet. */
export function isCidr(cidr: string): boolean {
  try {
    new CidrSet([cidr]);
    return true;
  } catch {
    return false;
  }
}
