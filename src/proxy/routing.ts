/** Host and path-prefix routing: which site and route (and so which upstream and limits) a request belongs to. */
import type { BulwarkConfig, SiteConfig } from '../config.ts';
import type { Mode, ParanoiaLevel } from '../types.ts';
import type { PoolSpec } from './balancer.ts';
import type { CacheConfig } from './cache.ts';

/** Everything the proxy needs to know about where a request goes and under which limits. */
export interface ResolvedRoute {
  site: string;
  /** The matching route prefix, or '' for the site itself. */
  route: string;
  upstream: string;
  /** Several servers (issue 8); `upstream` is then the first one. Null for a single `upstream`. */
  pool: PoolSpec | null;
  /** Response cache settings (issue 8); null = no caching. */
  cache: CacheConfig | null;
  methods: ReadonlySet<string>;
  maxBodyBytes: number;
  bodyPolicy: 'reject' | 'partial';
  mode: Mode;
  paranoia: ParanoiaLevel;
  threshold: number;
  timeoutMs: number;
}

interface CompiledSite {
  name: string;
  base: ResolvedRoute;
  /** Longest prefix first. */
  routes: Array<{ prefix: string; resolved: ResolvedRoute }>;
}

/** Host header → bare lower-case host name (port, trailing dot removed; IPv6 brackets kept). */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * The path used for route matching: percent-decoded (when valid), duplicate slashes collapsed and dot segments
 * resolved, so `/%61pi/`, `//api/` and `/x/../api/` pick the same route the backend will serve. The forwarded
 * request target is never changed.
 */
export function matchPath(url: string): string {
  const q = url.indexOf('?');
  let p = q >= 0 ? url.slice(0, q) : url;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      /* keep the raw path */
    }
  }
  if (!p.includes('//') && !p.includes('/.') && !p.includes('\\')) return p;
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/') + (p.endsWith('/') && out.length ? '/' : '');
}

export class Router {
  private readonly exact = new Map<string, CompiledSite>();
  /** Suffix ('.example.com') → site, longest suffix first. */
  private readonly wildcards: Array<{ suffix: string; site: CompiledSite }> = [];
  private catchAll: CompiledSite | null = null;
  readonly sites: CompiledSite[] = [];

  constructor(config: BulwarkConfig) {
    const implicit = compileSite(config, { name: 'default', hosts: ['*'], upstream: config.upstream, routes: [] });
    if (config.sites.length === 0) {
      this.catchAll = implicit;
      this.sites.push(implicit);
      return;
    }
    for (const s of config.sites) {
      const site = compileSite(config, s);
      this.sites.push(site);
      for (const h of s.hosts) {
        const host = hostName(h);
        if (h === '*') this.catchAll = site;
        else if (h.startsWith('*.')) this.wildcards.push({ suffix: host.slice(1), site });
        else this.exact.set(host, site);
      }
    }
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    if (!this.catchAll && config.defaultSite) {
      this.catchAll = config.defaultSite === 'default' ? implicit : (this.sites.find((s) => s.name === config.defaultSite) ?? null);
    }
  }

  /** The route for a Host header and raw URL, or null for an unknown host (→ 421). */
  resolve(host: string | undefined, url: string): ResolvedRoute | null {
    const name = hostName(host);
    let site = this.exact.get(name);
    if (!site) {
      for (const w of this.wildcards) {
        if (name.endsWith(w.suffix) && name.length > w.suffix.length) {
          site = w.site;
          break;
        }
      }
    }
    site ??= this.catchAll ?? undefined;
    if (!site) return null;
    if (site.routes.length === 0) return site.base;
    const path = matchPath(url);
    for (const r of site.routes) if (path.startsWith(r.prefix)) return r.resolved;
    return site.base;
  }

  upstreams(): string[] {
    const all = new Set<string>();
    for (const s of this.sites) {
      for (const r of [s.base, ...s.routes.map((x) => x.resolved)]) {
        all.add(r.upstream);
        for (const srv of r.pool?.servers ?? []) all.add(srv.origin);
      }
    }
    return [...all];
  }

  /** Every distinct upstream pool (for balancers and health checks). */
  pools(): PoolSpec[] {
    const all = new Set<PoolSpec>();
    for (const s of this.sites) for (const r of [s.base, ...s.routes.map((x) => x.resolved)]) if (r.pool) all.add(r.pool);
    return [...all];
  }
}

function origin(u: string): string {
  return new URL(u).origin;
}

/** A route's or site's `upstreams` list → a pool spec (null when it has none). */
function compilePool(r: Partial<Pick<SiteConfig, 'upstreams' | 'balance' | 'health' | 'passive'>>): PoolSpec | null {
  if (!r.upstreams) return null;
  return Object.freeze({
    servers: r.upstreams.map((u) => ({ origin: origin(u.url), weight: u.weight })),
    balance: r.balance ?? 'round-robin',
    health: r.health ?? null,
    passive: r.passive ?? { failures: 3, ejectMs: 10_000 },
  });
}

function compileSite(config: BulwarkConfig, s: SiteConfig | { name: string; hosts: string[]; upstream: string; routes: [] }): CompiledSite {
  const site = s as Partial<SiteConfig> & { name: string; upstream?: string; routes: SiteConfig['routes'] };
  const pool = compilePool(site);
  const base: ResolvedRoute = Object.freeze({
    site: site.name,
    route: '',
    upstream: pool ? pool.servers[0].origin : origin(site.upstream!),
    pool,
    cache: site.cache ?? null,
    methods: new Set(site.methods ?? config.methods),
    maxBodyBytes: site.maxBodyBytes ?? config.limits.maxBodyBytes,
    bodyPolicy: config.inspection.bodyPolicy,
    mode: site.mode ?? config.mode,
    paranoia: (site.paranoia ?? config.paranoia) as ParanoiaLevel,
    threshold: site.threshold ?? config.threshold,
    timeoutMs: config.proxy.upstreamTimeoutMs,
  });
  const routes = site.routes
    .map((r) => {
      const rpool = compilePool(r);
      return {
      prefix: r.prefix,
      resolved: Object.freeze({
        ...base,
        route: r.prefix,
        upstream: rpool ? rpool.servers[0].origin : r.upstream ? origin(r.upstream) : base.upstream,
        pool: rpool ?? (r.upstream ? null : base.pool),
        cache: r.cache ?? base.cache,
        methods: r.methods ? new Set(r.methods) : base.methods,
        maxBodyBytes: r.maxBodyBytes ?? base.maxBodyBytes,
        bodyPolicy: r.bodyPolicy ?? base.bodyPolicy,
        mode: r.mode ?? base.mode,
        timeoutMs: r.timeoutMs ?? base.timeoutMs,
      }),
      };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return { name: site.name, base, routes };
}
