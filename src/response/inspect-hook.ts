/**
 * Response leak inspection (issue 8), as one onSend hook: upstream bodies of the configured text types, up to
 * `maxBytes`, are buffered and scanned for SQL errors, stack traces, directory listings, source code and our
 * backends' own addresses; then blocked (502 + event id), masked, or only logged. Compressed bodies (gzip, deflate,
 * br) are inflated under the same bound to be scanned; a clean body always goes out as the exact bytes received.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildEvent } from '../log/event.ts';
import { renderErrorPage } from '../pages.ts';
import type { Services } from '../services.ts';
import type { Match } from '../types.ts';
import { utf8OrLatin1 } from '../inspect/body/content-type.ts';
import { compileLeakPatterns, INTERNAL_ADDRESS_ID, maskLeaks, type LeakHit, type LeakScanner } from './leak-scan.ts';
import type { ResponseInspectionConfig } from './settings.ts';

const INFLATE: Record<string, (b: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>> = {
  gzip: promisify(gunzip) as never,
  'x-gzip': promisify(gunzip) as never,
  deflate: promisify(inflate) as never,
  br: promisify(brotliDecompress) as never,
};
/** Headers that may carry an absolute URL naming the backend (rewritten like nginx's proxy_redirect). */
const URL_HEADERS = ['location', 'content-location', 'refresh', 'link'];

interface SiteInspection {
  cfg: ResponseInspectionConfig;
  types: ReadonlySet<string>;
}

export interface ResponseInspectionDeps {
  sites: Array<{ name: string; responseInspection?: ResponseInspectionConfig }>;
  /** Every upstream origin (their addresses must never reach a client). */
  origins: readonly string[];
  services: Pick<Services, 'events'>;
}

function mediaType(v: unknown): string {
  const s = Array.isArray(v) ? String(v[0] ?? '') : v === undefined ? '' : String(v);
  const i = s.indexOf(';');
  return (i >= 0 ? s.slice(0, i) : s).trim().toLowerCase();
}

function isStream(p: unknown): p is Readable {
  return p !== null && typeof p === 'object' && typeof (p as Readable).pipe === 'function';
}

/** Read at most `max` bytes; `rest` is the untouched remainder when the body is longer. */
async function readBounded(src: Readable, max: number): Promise<{ chunks: Buffer[]; size: number; rest: AsyncIterator<Buffer> | null }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return { chunks, size, rest: null };
    chunks.push(r.value);
    size += r.value.length;
    if (size > max) return { chunks, size, rest: it };
  }
}

function replay(chunks: Buffer[], rest: AsyncIterator<Buffer> | null): Readable {
  return Readable.from(
    (async function* () {
      yield* chunks;
      if (rest) for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
    })(),
    { objectMode: false },
  );
}

function toMatch(h: LeakHit, text: string, target: string): Match {
  return {
    id: h.id, name: h.name, family: h.family, severity: 'critical', paranoia: 1, score: 5, target,
    value: text.slice(Math.max(0, h.start - 40), Math.min(text.length, h.end + 40)),
    matched: h.matched,
  };
}

export class ResponseInspection {
  private readonly bySite = new Map<string, SiteInspection>();
  private readonly scanner: LeakScanner;
  private readonly addresses: LeakScanner;

  constructor(private readonly deps: ResponseInspectionDeps) {
    for (const s of deps.sites) {
      const cfg = s.responseInspection;
      if (cfg?.enabled) this.bySite.set(s.name, { cfg, types: new Set(cfg.types) });
    }
    this.scanner = compileLeakPatterns(undefined, deps.origins);
    this.addresses = compileLeakPatterns([], deps.origins);
  }

  /** True when this site's upstream answers are inspected (the onSend hook needs them as streams). */
  covers(site: string): boolean {
    return this.bySite.has(site);
  }

  get active(): boolean {
    return this.bySite.size > 0;
  }

  /** The onSend hook body: returns the payload to send (the original, a masked copy, or our 502 page). */
  async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const site = request.waf?.site;
    const s = site ? this.bySite.get(site) : undefined;
    // Only upstream bodies are streams: our own pages and cache hits (stored after inspection) are strings/Buffers.
    if (!s || !isStream(payload)) return payload;
    const headerHits = this.rewriteHeaders(request, reply, s.cfg);
    const status = reply.statusCode;
    if (request.raw.method === 'HEAD' || status === 204 || status === 304 || !s.types.has(mediaType(reply.getHeader('content-type')))) {
      if (headerHits.length) this.record(request, reply, s.cfg, headerHits);
      return payload;
    }
    const log = request.log;
    const declared = Number(reply.getHeader('content-length'));
    if (Number.isFinite(declared) && declared > s.cfg.maxBytes) {
      log.info({ part: 'response-inspection', bytes: declared, maxBytes: s.cfg.maxBytes }, 'response body not inspected: larger than maxBytes');
      if (headerHits.length) this.record(request, reply, s.cfg, headerHits);
      return payload;
    }
    const { chunks, size, rest } = await readBounded(payload, s.cfg.maxBytes);
    if (rest) {
      log.info({ part: 'response-inspection', bytes: `>${s.cfg.maxBytes}`, maxBytes: s.cfg.maxBytes }, 'response body not inspected: larger than maxBytes');
      if (headerHits.length) this.record(request, reply, s.cfg, headerHits);
      return replay(chunks, rest);
    }
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    const encoding = String(reply.getHeader('content-encoding') ?? '').trim().toLowerCase();
    let plain = raw;
    if (encoding && encoding !== 'identity') {
      const inflateFn = INFLATE[encoding];
      try {
        if (!inflateFn) throw new Error(`unsupported content-encoding ${encoding.slice(0, 32)}`);
        plain = await inflateFn(raw, { maxOutputLength: s.cfg.maxBytes });
      } catch (err) {
        log.info({ part: 'response-inspection', encoding: encoding.slice(0, 32), err: (err as Error).message.slice(0, 120) }, 'response body not inspected: cannot decode it within maxBytes');
        if (headerHits.length) this.record(request, reply, s.cfg, headerHits);
        return replay([raw], null);
      }
    }
    const text = utf8OrLatin1(plain);
    const hits = this.scanner.scan(text);
    if (hits.length === 0) {
      if (headerHits.length) this.record(request, reply, s.cfg, headerHits);
      return replay([raw], null);
    }
    const matches = [...headerHits, ...hits.map((h) => toMatch(h, text, 'response_body'))];
    const eventId = this.record(request, reply, s.cfg, matches);
    if (s.cfg.action === 'log') return replay([raw], null);
    if (s.cfg.action === 'mask') {
      const masked = Buffer.from(maskLeaks(text, hits, s.cfg.mask), isUtf8(plain) ? 'utf8' : 'latin1');
      if (encoding) reply.removeHeader('content-encoding');
      reply.removeHeader('etag');
      reply.header('content-length', String(masked.length));
      return replay([masked], null);
    }
    // block: our 502 page instead of the backend's answer; none of its headers survive.
    for (const h of Object.keys(reply.getHeaders())) if (h !== 'x-request-id' && h !== 'x-cache') reply.removeHeader(h);
    const page = renderErrorPage(502, { requestId: request.id, eventId, code: 'WAF_ERR_RESPONSE_BLOCKED' }, request.headers.accept);
    reply.code(502).header('content-type', page.contentType).header('cache-control', 'no-store').header('content-length', String(Buffer.byteLength(page.body)));
    return page.body;
  }

  /** Absolute URLs naming a backend in Location/Content-Location/Refresh/Link → the client-facing origin (unless `log`). */
  private rewriteHeaders(request: FastifyRequest, reply: FastifyReply, cfg: ResponseInspectionConfig): Match[] {
    const out: Match[] = [];
    for (const name of URL_HEADERS) {
      const v = reply.getHeader(name);
      if (v === undefined) continue;
      const value = Array.isArray(v) ? v.join(', ') : String(v);
      const hits = this.addresses.scan(value);
      if (hits.length === 0) continue;
      out.push(...hits.map((h) => toMatch(h, value, `response_headers:${name}`)));
      if (cfg.action === 'log') continue;
      const host = String(request.headers.host ?? '');
      // http://10.0.0.5:8000/x → /x (relative: the client keeps its own scheme and host).
      let fixed = value.replace(new RegExp(`https?://(?:${hitsSource(hits)})`, 'gi'), '');
      fixed = maskLeaks(fixed, this.addresses.scan(fixed), host || cfg.mask);
      reply.header(name, fixed);
    }
    return out;
  }

  private record(request: FastifyRequest, reply: FastifyReply, cfg: ResponseInspectionConfig, matches: Match[]): string {
    const waf = request.waf;
    const action = cfg.action === 'block' && matches.some((m) => m.target === 'response_body') ? 'block' : 'detect';
    const event = buildEvent(
      { site: waf.site, route: waf.route, clientIp: waf.clientIp, peer: waf.peer, method: request.method, url: request.raw.url ?? '/', headers: request.headers },
      { action, mode: waf.mode, paranoia: waf.paranoia, backendStatus: reply.statusCode },
    );
    event.matches = matches.slice(0, 50);
    event.score = matches.length * 5;
    event.findings = [{ code: 'response_leak', message: `response ${cfg.action === 'log' ? 'logged' : cfg.action === 'mask' ? 'masked' : action === 'block' ? 'blocked' : 'headers rewritten'}: ${matches.length} match(es)`, target: 'response_body' }];
    waf.eventId = event.id;
    this.deps.services.events?.record(event);
    request.log.warn(
      { part: 'response-inspection', eventId: event.id, action: cfg.action, leaks: [...new Set(matches.map((m) => `${m.id}@${m.target}`))] },
      action === 'block' ? 'response blocked: leak in the body' : `response leak ${cfg.action === 'log' ? 'logged' : 'masked'}`,
    );
    return event.id;
  }
}

function hitsSource(hits: LeakHit[]): string {
  return [...new Set(hits.filter((h) => h.id === INTERNAL_ADDRESS_ID).map((h) => h.matched.replace(/^https?:\/\//i, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))].join('|');
}
