/** Bulwark's configuration: one zod schema with defaults, loaded from YAML + env + CLI flags, validated once, frozen. */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { WafError } from './errors.ts';
import { rateLimitSchema } from './ratelimit/config-schema.ts';
import { balanceSchema, healthSchema, passiveSchema, poolServerSchema } from './proxy/balancer.ts';
import { tlsSchema } from './proxy/tls.ts';
import { cacheSchema } from './proxy/cache.ts';
import { securityHeadersSchema } from './proxy/hardening.ts';
import { responseInspectionSchema } from './response/settings.ts';
import { websocketInspectionSchema } from './proxy/ws-inspect.ts';

// ---------------------------------------------------------------------------
// Small value schemas
// ---------------------------------------------------------------------------

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/;

const hostPort = z
  .string()
  .refine((s) => parseHostPort(s) !== null, { message: 'expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (port 0-65535)' });

const upstreamUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search && !u.username;
    } catch {
      return false;
    }
  },
  { message: 'expected an http(s) origin such as http://127.0.0.1:8000 (no path, query or credentials)' },
);

const modeSchema = z.enum(['block', 'detect', 'off']);
const paranoiaSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], { message: 'expected paranoia level 1, 2, 3 or 4' });
/** RFC 9110 token characters (what a method name may contain). */
const methodToken = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/, 'expected an upper-case HTTP method token such as GET');
const hostPattern = z
  .string()
  .regex(/^(\*|\*\.[a-z0-9.-]+|[a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/, 'expected a lower-case host name, "*.example.com" or "*"');
const cidr = z.string().refine((s) => isCidr(s), { message: 'expected an IP address or CIDR such as 10.0.0.0/8 or fd00::/8' });
const bytes = z.number().int().positive();
const ms = z.number().int().nonnegative();
const bodyPolicy = z.enum(['reject', 'partial']);

const routeSchema = z.strictObject({
  /** Path prefix inside the site ("/api/"); the longest matching prefix wins. */
  prefix: z.string().startsWith('/', 'expected a path prefix starting with "/"'),
  upstream: upstreamUrl.optional(),
  /** Upstream pool (issue 8): several servers with weights instead of one `upstream`. */
  upstreams: z.array(poolServerSchema).min(1).optional(),
  balance: balanceSchema.optional(),
  health: healthSchema.optional(),
  passive: passiveSchema.optional(),
  /** Response cache (issue 8), off unless set. */
  cache: cacheSchema.optional(),
  methods: z.array(methodToken).min(1).optional(),
  maxBodyBytes: bytes.optional(),
  bodyPolicy: bodyPolicy.optional(),
  mode: modeSchema.optional(),
  timeoutMs: ms.optional(),
});

const siteSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a short name of letters, digits, ".", "_" or "-"'),
  /** Exact host names and "*.example.com" wildcards (port ignored). */
  hosts: z.array(hostPattern).min(1),
  /** Required unless `upstreams` is given. */
  upstream: upstreamUrl.optional(),
  /** Upstream pool (issue 8): several servers with weights instead of one `upstream`. */
  upstreams: z.array(poolServerSchema).min(1).optional(),
  balance: balanceSchema.optional(),
  health: healthSchema.optional(),
  passive: passiveSchema.optional(),
  /** Response cache (issue 8), off unless set; routes inherit it. */
  cache: cacheSchema.optional(),
  /** Security response headers (issue 8): true = defaults, or an object overriding them; off unless set. */
  securityHeaders: securityHeadersSchema.optional(),
  /** Response leak inspection (issue 8): scan text bodies for SQL errors, stack traces, listings; off unless set. */
  responseInspection: responseInspectionSchema.optional(),
  mode: modeSchema.optional(),
  paranoia: paranoiaSchema.optional(),
  threshold: z.number().int().positive().optional(),
  methods: z.array(methodToken).min(1).optional(),
  maxBodyBytes: bytes.optional(),
  /** Exclusion packs from signatures/profiles/ switched on for this site (e.g. ["django"]). */
  profiles: z.array(z.string().regex(/^[a-z0-9_-]+$/)).optional(),
  routes: z.array(routeSchema).default([]),
}).refine((s) => s.upstream !== undefined || s.upstreams !== undefined, { message: 'a site needs `upstream` or `upstreams`', path: ['upstream'] });

export const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
export const DEFAULT_STRIP_RESPONSE_HEADERS = [
  'server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-generator',
  'x-backend-server', 'x-served-by', 'x-drupal-cache', 'x-varnish-backend',
];

// ---------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------

export const configSchema = z.strictObject({
  /** Proxy listener. */
  listen: hostPort.default('0.0.0.0:8080'),
  /** Upstream of the implicit default site (used when `sites` is empty, or as `defaultSite: default`). */
  upstream: upstreamUrl.default('http://127.0.0.1:8000'),
  mode: modeSchema.default('block'),
  paranoia: paranoiaSchema.default(1),
  /** Anomaly score at which a request is blocked. */
  threshold: z.number().int().positive().default(5),
  /** TLS termination on `listen` (issue 8); absent → plain HTTP. */
  tls: tlsSchema.optional(),
  /** Sites by Host. Empty → every Host goes to `upstream`. */
  sites: z.array(siteSchema).default([]),
  /** Site name that serves unknown hosts; null → unknown Host gets 421. "default" = the top-level `upstream`. */
  defaultSite: z.string().nullable().default(null),
  /** Peers (CIDRs) whose X-Forwarded-For / Forwarded we trust and append to. */
  trustedProxies: z.array(cidr).default([]),
  /** Method allow-list for routes that do not set their own. */
  methods: z.array(methodToken).min(1).default(DEFAULT_METHODS),
  limits: z
    .strictObject({
      /** Total bytes of the request line + headers (Node's maxHeaderSize) → 431. */
      maxHeaderBytes: bytes.default(16 * 1024),
      maxHeaderCount: z.number().int().positive().max(1000).default(100),
      maxUriLength: bytes.default(8 * 1024),
      /** Hard request body limit (per route override) → 413. */
      maxBodyBytes: bytes.default(10 * 1024 * 1024),
      headersTimeoutMs: ms.default(10_000),
      requestTimeoutMs: ms.default(60_000),
      keepAliveTimeoutMs: ms.default(5_000),
      /**
       * Bytes of request bodies held in memory at once, every request of the process together (bodies are buffered
       * whole to be inspected and forwarded); a body that does not fit gets 503 (0 = unbounded).
       */
      maxBufferedBodyBytes: z.number().int().nonnegative().default(256 * 1024 * 1024),
      /** Concurrent client connections on the proxy listener (0 = unlimited). */
      maxConnections: z.number().int().nonnegative().default(10_000),
      /** Requests served on one keep-alive connection before it is closed (0 = no cap). */
      maxRequestsPerSocket: z.number().int().nonnegative().default(1000),
    })
    .prefault({}),
  proxy: z
    .strictObject({
      /** Time to wait for the upstream's response headers (and between body chunks) → 504. */
      upstreamTimeoutMs: z.number().int().positive().default(30_000),
      connectTimeoutMs: z.number().int().positive().default(5_000),
      /** Keep-alive connections per upstream. */
      connectionsPerUpstream: z.number().int().positive().default(128),
      /** PEM file of the CA that signs https:// upstreams' certificates (issue 8); unset → the system CAs. */
      upstreamCaFile: z.string().min(1).optional(),
      /** Pass WebSocket upgrades through (the handshake is inspected like any request). */
      websocket: z.boolean().default(true),
      /** Per-message inspection of client→server text frames (issue 8); off by default. */
      websocketInspection: websocketInspectionSchema.prefault({}),
      /** Forward the client's Host (true) or the upstream's host:port (false). */
      preserveHost: z.boolean().default(true),
      /** Response headers removed before the client sees them (lower case). */
      stripResponseHeaders: z.array(z.string().regex(/^[a-z0-9-]+$/)).default(DEFAULT_STRIP_RESPONSE_HEADERS),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** One info line per request (off by default: measured cost on the hot path). */
      requests: z.boolean().default(false),
    })
    .prefault({}),
  /** Worker processes: 1, a number, or "auto" (one per core). */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default(1),
  /** How long SIGTERM waits for in-flight requests before closing sockets. */
  shutdownTimeoutMs: ms.default(10_000),

  // ---------------------------------------------------------------------------
  // Sections owned by other parts — extend inside your section only.
  // ---------------------------------------------------------------------------

  /** [inspection — issue 3/4] engine settings. Body limit: what the engine reads; policy when a body is longer. */
  inspection: z
    .looseObject({
      /** Bytes of body the engine inspects. */
      bodyLimit: bytes.default(1024 * 1024),
      /**
       * 'reject' → a body longer than bodyLimit gets 413 (nothing uninspected is forwarded).
       * 'partial' → the first bodyLimit bytes are inspected (flagged bodyTruncated); the whole body (≤ maxBodyBytes) is forwarded.
       */
      bodyPolicy: bodyPolicy.default('reject'),
      /**
       * Entries per generation of the clean-target memo: short targets (≤ 256 chars) a version's plan found clean are
       * skipped when they come again (repeated headers, cookies, common arguments). 0 turns it off.
       */
      memo: z.number().int().min(0).max(1_000_000).default(8192),
      /**
       * Inspect in a worker thread of its own (the requests of each event-loop turn as one batch; see
       * src/inspect/inspection-thread.ts); false: in the event loop.
       */
      thread: z.boolean().default(true),
      /**
       * With `thread`: requests whose body has this many bytes or more are inspected in a second thread of their own,
       * so the others never wait behind them (see src/inspect/inspection-lanes.ts); false: one thread for all.
       */
      largeBodyThread: z.union([z.literal(false), z.number().int().min(1)]).default(16_384),
    })
    .prefault({}),
  /** [rateLimit — issue 6] */
  rateLimit: rateLimitSchema,
  /** [events — issue 7] */
  events: z.looseObject({}).prefault({}),
  /** [admin — listener here; tokens/auth: issue 7] */
  admin: z
    .looseObject({
      listen: hostPort.default('127.0.0.1:9090'),
      tokens: z
        .array(z.strictObject({ name: z.string().min(1), token: z.string().min(16, 'expected a token of at least 16 characters'), role: z.enum(['admin', 'viewer']).default('admin') }))
        .default([]),
    })
    .prefault({}),
  /** [redis — issue 5] unset → run without Redis (memory only). */
  redis: z.looseObject({ url: z.string().optional() }).prefault({}),
});

export type BulwarkConfig = z.output<typeof configSchema>;
export type SiteConfig = z.output<typeof siteSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type RawConfig = z.input<typeof configSchema>;

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

export interface ConfigIssue {
  /** Dotted path such as `sites[0].upstream` (or `(file)` for read/parse errors). */
  path: string;
  message: string;
}

/** Thrown by loadConfig; `issues` lists every bad value. */
export class ConfigError extends WafError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super('WAF_ERR_CONFIG_INVALID', 'invalid configuration:\n' + issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n'), issues);
    this.issues = issues;
  }
}

export interface LoadOptions {
  /** YAML file path (else env BULWARK_CONFIG, else none). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence, e.g. CLI flags: `{ listen, upstream, mode, admin: { listen } }`. */
  overrides?: Record<string, unknown>;
  /** A config object used instead of a file (tests). */
  object?: Record<string, unknown>;
}

/** Load, merge (defaults < file < env < overrides), validate and freeze. Throws ConfigError listing every problem. */
export function loadConfig(opts: LoadOptions = {}): BulwarkConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.BULWARK_CONFIG;
  let base: Record<string, unknown> = opts.object ?? {};
  if (file) base = readConfigFile(file);
  const merged = deepMerge(deepMerge(base, fromEnv(env)), opts.overrides ?? {});
  return parseConfig(merged);
}

/** Validate a plain object and freeze it. */
export function parseConfig(raw: unknown): BulwarkConfig {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: formatPath(i.path), message: describeIssue(i) })));
  const cfg = r.data;
  const issues = crossCheck(cfg);
  if (issues.length) throw new ConfigError(issues);
  return deepFreeze(cfg);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}` }]);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError([{ path: '(file)', message: `${file} must hold a YAML mapping at the top level` }]);
  return doc as Record<string, unknown>;
}

/** Env vars understood by Bulwark (values are validated by the schema like any other). */
export function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const num = (v: string) => (/^-?\d+$/.test(v.trim()) ? Number(v) : v);
  if (env.BULWARK_LISTEN) out.listen = env.BULWARK_LISTEN;
  if (env.BULWARK_UPSTREAM) out.upstream = env.BULWARK_UPSTREAM;
  if (env.BULWARK_MODE) out.mode = env.BULWARK_MODE;
  if (env.BULWARK_PARANOIA) out.paranoia = num(env.BULWARK_PARANOIA);
  if (env.BULWARK_THRESHOLD) out.threshold = num(env.BULWARK_THRESHOLD);
  if (env.BULWARK_WORKERS) out.workers = env.BULWARK_WORKERS === 'auto' ? 'auto' : num(env.BULWARK_WORKERS);
  if (env.BULWARK_TRUSTED_PROXIES) out.trustedProxies = env.BULWARK_TRUSTED_PROXIES.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.BULWARK_LOG_LEVEL) out.logging = { level: env.BULWARK_LOG_LEVEL };
  if (env.BULWARK_ADMIN) out.admin = { listen: env.BULWARK_ADMIN };
  if (env.REDIS_URL) out.redis = { url: env.REDIS_URL };
  return out;
}

function crossCheck(cfg: BulwarkConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set<string>();
  const hosts = new Map<string, string>();
  cfg.sites.forEach((s, i) => {
    if (names.has(s.name) || s.name === 'default') issues.push({ path: `sites[${i}].name`, message: `site name "${s.name}" is used twice (or is the reserved "default")` });
    names.add(s.name);
    s.hosts.forEach((h, j) => {
      const prev = hosts.get(h);
      if (prev) issues.push({ path: `sites[${i}].hosts[${j}]`, message: `host "${h}" is already served by site "${prev}"` });
      hosts.set(h, s.name);
    });
  });
  if (cfg.defaultSite !== null && cfg.defaultSite !== 'default' && !names.has(cfg.defaultSite)) {
    issues.push({ path: 'defaultSite', message: `expected the name of a configured site or "default"; got "${cfg.defaultSite}"` });
  }
  if (cfg.listen === cfg.admin.listen && parseHostPort(cfg.listen)!.port !== 0) {
    issues.push({ path: 'admin.listen', message: 'expected an address different from the proxy listener (admin must never be reachable through the proxy port)' });
  }
  issues.push(...bodiesThatNeverFit(cfg));
  return issues;
}

/** A body limit (under its policy) above limits.maxBufferedBodyBytes: such bodies would always get 503. */
function bodiesThatNeverFit(cfg: BulwarkConfig): ConfigIssue[] {
  const budget = cfg.limits.maxBufferedBodyBytes;
  if (budget === 0) return [];
  const out: ConfigIssue[] = [];
  const check = (path: string, hard: number, policy: 'reject' | 'partial') => {
    const held = policy === 'partial' ? hard : Math.min(hard, cfg.inspection.bodyLimit);
    if (held > budget) out.push({ path, message: `bodies of up to ${held} bytes are read here, more than limits.maxBufferedBodyBytes (${budget}) holds: they would always get 503; lower this limit or raise maxBufferedBodyBytes` });
  };
  check('limits.maxBodyBytes', cfg.limits.maxBodyBytes, cfg.inspection.bodyPolicy);
  cfg.sites.forEach((s, i) => {
    const siteMax = s.maxBodyBytes ?? cfg.limits.maxBodyBytes;
    if (s.maxBodyBytes !== undefined) check(`sites[${i}].maxBodyBytes`, siteMax, cfg.inspection.bodyPolicy);
    s.routes.forEach((r, j) => {
      if (r.maxBodyBytes !== undefined || r.bodyPolicy !== undefined) check(`sites[${i}].routes[${j}]`, r.maxBodyBytes ?? siteMax, r.bodyPolicy ?? cfg.inspection.bodyPolicy);
    });
  });
  return out;
}

function describeIssue(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')} (check the spelling against the config reference in README.md)`;
  return i.message;
}

function formatPath(path: PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(root)';
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** "127.0.0.1:8080" / "[::1]:8080" → { host, port }, or null. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = HOST_PORT.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

export function isCidr(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined) return false;
  const v = isIP(ip);
  if (!v) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (v === 4 ? 32 : 128);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from `b` replace `a`. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
