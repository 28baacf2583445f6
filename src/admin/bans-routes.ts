/** Admin API for bans and the allow-list: list, ban, unban (resets counters), allow/disallow a CIDR. */
import type { FastifyInstance } from 'fastify';
import { isIP } from 'node:net';
import { isCidr } from '../ratelimit/allow-list.ts';
import type { RateLimitService } from '../ratelimit/service.ts';

export interface BansRoutesOptions {
  service: RateLimitService;
}

const bad = (message: string) => ({ error: 'WAF_ERR_BAD_REQUEST', message });

export async function bansRoutes(app: FastifyInstance, opts: BansRoutesOptions): Promise<void> {
  const { service } = opts;

  app.get('/bans', async () => ({
    bans: service.bans.list().map((b) => ({ ...b, until: new Date(b.until).toISOString() })),
    allow: service.bans.allowList(),
    degraded: service.degraded(),
  }));

  app.post('/bans', async (req, reply) => {
    const body = (req.body ?? {}) as { ip?: unknown; seconds?: unknown; reason?: unknown };
    if (typeof body.ip !== 'string' || !isIP(body.ip)) return reply.code(400).send(bad('ip must be an IPv4 or IPv6 address'));
    const seconds = body.seconds === undefined ? 3600 : Number(body.seconds);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 365 * 86400) return reply.code(400).send(bad('seconds must be between 1 and 31536000'));
    const reason = typeof body.reason === 'string' && body.reason ? body.reason.slice(0, 200) : 'manual';
    const ban = await service.bans.ban(body.ip, seconds, reason, req.admin?.name);
    req.log.info({ ip: ban.ip, seconds, by: req.admin?.name }, 'admin: ban');
    return { detail: `banned ${ban.ip} for ${seconds}s (${reason})`, ban: { ...ban, until: new Date(ban.until).toISOString() } };
  });

  app.delete('/bans/:ip', async (req, reply) => {
    const ip = (req.params as { ip: string }).ip;
    if (!isIP(ip)) return reply.code(400).send(bad('not an IP address'));
    const had = await service.unban(ip);
    req.log.info({ ip, by: req.admin?.name, had }, 'admin: unban');
    return { detail: had ? `unbanned ${ip}; its counters are reset` : `${ip} was not banned; its counters are reset`, removed: had };
  });

  app.post('/allow', async (req, reply) => {
    const cidr = (req.body as { cidr?: unknown } | undefined)?.cidr;
    if (typeof cidr !== 'string' || !isCidr(cidr)) return reply.code(400).send(bad('cidr must be an address or CIDR such as 10.0.0.0/8'));
    await service.bans.addAllow(cidr);
    req.log.info({ cidr, by: req.admin?.name }, 'admin: allow-list add');
    return { detail: `allow-listed ${cidr} (never rate-limited or banned)` };
  });

  app.delete('/allow', async (req, reply) => {
    const cidr = (req.query as { cidr?: string }).cidr;
    if (!cidr || !isCidr(cidr)) return reply.code(400).send(bad('give ?cidr=ADDRESS/PREFIX'));
    const had = await service.bans.removeAllow(cidr);
    if (!had) return reply.code(404).send({ error: 'WAF_ERR_NOT_FOUND', message: `${cidr} is not on the dynamic allow-list (config entries are changed in the config file)` });
    return { detail: `removed ${cidr} from the allow-list` };
  });
}
