/** Active health checks: every pool with `health` gets a GET of its path on each server per interval. */
import { request } from 'undici';
import type { Balancer, ServerState } from './balancer.ts';

async function probe(origin: string, path: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(origin + path, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/** Start checking; returns a stop function. Results are logged on state changes only. */
export function startHealthChecks(balancers: Iterable<Balancer>, log?: { warn(o: object, m: string): void; info(o: object, m: string): void }): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  for (const b of balancers) {
    const h = b.spec.health;
    if (!h) continue;
    const busy = new Set<ServerState>();
    const tick = () => {
      for (const s of b.servers) {
        if (busy.has(s)) continue;
        busy.add(s);
        void probe(s.origin, h.path, Math.min(h.timeoutMs, h.intervalMs)).then((ok) => {
          busy.delete(s);
          if (stopped) return;
          const before = s.healthy;
          b.checked(s, ok);
          // The server's address goes to our log only, never to a client.
          if (before && !s.healthy) log?.warn({ upstream: s.origin }, 'upstream marked unhealthy');
          else if (!before && s.healthy) log?.info({ upstream: s.origin }, 'upstream healthy again');
        });
      }
    };
    const t = setInterval(tick, h.intervalMs);
    t.unref();
    timers.push(t);
    tick();
  }
  return () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
  };
}
