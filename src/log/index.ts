/** createEventLog(config): the configured sink (redactor + ring + JSONL file + Redis stream when `redis` is set). */
import cluster from 'node:cluster';
import type { BulwarkConfig } from '../config.ts';
import { createRedisClient } from '../store/redis-client.ts';
import { redisTarget, type RedisSection } from '../store/setup.ts';
import type { WafEvent } from '../types.ts';
import { EventLog, type SinkLogger } from './event-log.ts';
import { JsonlFile } from './jsonl-file.ts';
import { createRedactor } from './redact.ts';
import { RedisEventStream } from './redis-stream.ts';
import { eventsSettings, type EventsSettings } from './settings.ts';

export interface CreatedEventLog {
  log: EventLog;
  settings: EventsSettings;
}

/** Build and start the sink. Never fails for an unreachable Redis (queues and retries). */
export async function createEventLog(config: Pick<BulwarkConfig, 'events' | 'redis'>, logger?: SinkLogger & { error?: (o: object, m: string) => void }, hooks: { onRecord?: (e: WafEvent) => void } = {}): Promise<CreatedEventLog> {
  const settings = eventsSettings(config.events);
  const redactor = createRedactor(settings.redact);
  let file: JsonlFile | null = null;
  let fileErrors = 0;
  if (settings.file) {
    // Cluster workers each write their own file (no rotation races between processes).
    const path = cluster.isWorker ? settings.file.path.replace(/(\.jsonl)?$/, `-w${cluster.worker?.id}$1`) : settings.file.path;
    file = new JsonlFile({ path, maxBytes: settings.file.maxBytes, maxFiles: settings.file.maxFiles, onError: (e) => { if (fileErrors++ % 1000 === 0) logger?.warn({ err: e.message, path, failures: fileErrors }, 'events: cannot write the event file'); } });
  }
  const target = redisTarget(config.redis as RedisSection);
  const client = target ? createRedisClient(target, { name: 'bulwark-events' }) : null;
  const stream = client ? new RedisEventStream(client, { namespace: (config.redis as RedisSection).namespace, maxLen: settings.stream.maxLen, maxAgeMs: settings.stream.maxAge }) : null;
  const log = new EventLog({ redactor, ringSize: settings.ring, queueMax: settings.queue, file, stream, client, log: logger, onRecord: hooks.onRecord });
  if (file) {
    // Warm the ring from the current file; events younger than the stream's age limit are replayed (the stream ignores known ids).
    const since = Date.now() - (settings.stream.maxAge || 86_400_000);
    const events: WafEvent[] = [];
    try {
      for await (const r of file.records()) {
        const e = r as WafEvent;
        if (e && typeof e.id === 'string' && Date.parse(e.time) >= since) events.push(e);
        if (events.length > settings.queue * 2) events.splice(0, events.length - settings.queue);
      }
    } catch (e) {
      logger?.warn({ err: (e as Error).message }, 'events: cannot read the event file back');
    }
    log.restore(events.slice(-Math.max(settings.ring, settings.queue)), true);
  }
  await log.start();
  return { log, settings };
}
