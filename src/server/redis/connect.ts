import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type RedisLog = Pick<Logger, 'warn' | 'info'>;

/**
 * Opens one Redis connection for cluster mode and waits until it is ready. It reconnects for
 * ever (at most 1 s between tries), and says so once when it loses Redis and once when it has
 * it back, rather than once per failed try.
 *
 * Commands are never queued while Redis is away, nor sent again after a reconnect: Redis is
 * not the log (the database is), so a publish or a presence refresh that cannot go now is
 * dropped and the next one, or the hole filling from storage, makes up for it. A queue would
 * grow without bound during an outage and then replay stale state.
 */
export async function connectRedis(url: string, name: string, log: RedisLog, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: `parley:${name}`,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (tries) => Math.min(tries * 100, 1000),
    ...options,
  });
  let lost = false;
  client.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    log.warn({ err: error, redis: name }, 'lost Redis; reconnecting');
  });
  client.on('close', () => {
    if (lost || client.status === 'end') return;
    lost = true;
    log.warn({ redis: name }, 'lost Redis; reconnecting');
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    log.info({ redis: name }, 'Redis is back');
  });
  await client.connect();
  return client;
}
