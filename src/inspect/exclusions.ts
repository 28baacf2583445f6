/** Exclusions compiled: which signatures they remove, for which site / path / client, and which targets. */

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Exclusion, SignatureSpec } from '../types.ts';
import { redosProblems } from './redos.ts';
import { parseSelector, type Selector } from './selectors.ts';

export interface CompiledExclusion {
  exclusion: Exclusion;
  /** Does the exclusion's `rule` cover this signature? */
  covers(sig: Pick<SignatureSpec, 'id' | 'family' | 'tags'>): boolean;
  /** Only this target is removed (undefined: the whole signature). */
  target?: Selector;
  /** Does it apply to a request for this site, normalised path and client? */
  appliesTo(site: string | undefined, path: string, clientIp: string | undefined): boolean;
}

function ruleCovers(rule: string): CompiledExclusion['covers'] {
  if (rule === '*') return () => true;
  if (rule.startsWith('family:')) {
    const f = rule.slice(7);
    return (s) => s.family === f;
  }
  if (rule.startsWith('tag:')) {
    const tag = rule.slice(4);
    return (s) => s.tags.includes(tag);
  }
  const range = /^(\d+)-(\d+)$/.exec(rule);
  if (range) {
    const lo = Number(range[1]), hi = Number(range[2]);
    return (s) => s.id >= lo && s.id <= hi;
  }
  if (/^\d+$/.test(rule)) {
    const id = Number(rule);
    return (s) => s.id === id;
  }
  throw new Error(`rule "${rule}" is not a signature id, an id range, family:NAME, tag:NAME or *`);
}

function cidrList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (type === null) throw new Error(`"${c}" is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, type);
    else {
      const p = Number(bits);
      if (!Number.isInteger(p) || p < 0 || p > (type === 'ipv4' ? 32 : 128)) throw new Error(`bad prefix length in "${c}"`);
      list.addSubnet(addr, p, type);
    }
  }
  return list;
}

/** Compile one exclusion; throws with a message naming the exclusion id when a field is unusable. */
export function compileExclusion(ex: Exclusion): CompiledExclusion {
  try {
    const covers = ruleCovers(String(ex.rule));
    const target = ex.target === undefined ? undefined : parseSelector(ex.target);
    if (target?.negated || target?.count) throw new Error(`target "${ex.target}" must be a plain selector`);
    let pathRe: RegExp | undefined;
    if (ex.pathRegex !== undefined) {
      pathRe = new RegExp(ex.pathRegex);
      const p = redosProblems(ex.pathRegex, '');
      if (p.length) throw new Error(`pathRegex refused (ReDoS-prone): ${p[0].detail}`);
    }
    const cidrs = ex.cidrs?.length ? cidrList(ex.cidrs) : undefined;
    const { site, pathPrefix } = ex;
    return {
      exclusion: ex,
      covers,
      target,
      appliesTo(reqSite, path, clientIp) {
        if (site !== undefined && site !== reqSite) return false;
        if (pathPrefix !== undefined && !path.startsWith(pathPrefix)) return false;
        if (pathRe !== undefined && !pathRe.test(path)) return false;
        if (cidrs !== undefined) {
          if (clientIp === undefined) return false;
          const type = isIPv4(clientIp) ? 'ipv4' : isIPv6(clientIp) ? 'ipv6' : null;
          if (type === null || !cidrs.check(clientIp, type)) return false;
        }
        return true;
      },
    };
  } catch (err) {
    throw new Error(`exclusion ${ex.id}: ${(err as Error).message}`);
  }
}
