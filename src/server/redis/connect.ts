import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { redactedUrl } from '../storage/open-store.ts';

export type RedisLog = Pick<Logger, 'warn' | 'info'>;

import { RedisUnavailableError } from './redis-unavailable.ts';

export { RedisUnavailableError };

/**
 * How long a connection waits for Redis to answer a command before it counts Redis as away: it
 * drops the connection, fails what was waiting and reconnects, exactly as when Redis stops. A
 * Redis that keeps the connection open but does not answer (paused, swapping, a stalled host)
 * would otherwise hold every command for as long as it lasts: the send limit of every message,
 * presence, the bus's publishes. Given to the connections that send commands (the bus's
 * publisher, presence and the limits); the bus's subscriber waits for what others publish, and
 * its subscriptions have their own bound (redis-bus.ts, HEAR_WAIT_MS).
 */
export const REDIS_ANSWER_TIMEOUT_MS = 2_000;

/**
 * Opens one Redis connection for cluster mode and waits until it is ready (or throws
 * RedisUnavailableError). Once up, it reconnects for ever (at most 1 s between tries), and says so once when it loses Redis and once when it has
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
  // Until the first connection, a failure is the start's to report (RedisUnavailableError), not a loss.
  let lost = true;
  let started = false;
  let lastError: Error | null = null;
  client.on('error', (error: Error) => {
    lastError = error;
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
    if (started) log.info({ redis: name }, 'Redis is back');
    started = true;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect(); // no retrying in the background of a start that failed
    const reason = (lastError ?? (error as Error)).message;
    throw new RedisUnavailableError(`Cannot reach Redis at ${redactedUrl(url)}: ${reason}`, { cause: error });
  }
  return client;
}
