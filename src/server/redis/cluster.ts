import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisCounters } from '../accounts/redis-failure-counters.ts';
import { RedisOnline } from '../chat/redis-online.ts';
import { RedisSendRate } from '../chat/redis-send-rate.ts';
import type { SendRateLimits } from '../chat/send-rate.ts';
import type { Clock } from '../clock.ts';
import type { EventPublisher } from '../events/events.ts';
import { RedisBus, type BusEvents } from '../events/redis-bus.ts';
import type { ClusterAnnouncement, ClusterRedis } from '../storage/postgres/node-registry.ts';
import { announceCluster, redisServerId, withdrawCluster } from './cluster-announcements.ts';
import { connectRedis, REDIS_ANSWER_TIMEOUT_MS } from './connect.ts';
import { RedisClockOffset } from './redis-clock.ts';

/**
 * What `--redis` connects (docs/ARCHITECTURE.md, "Across nodes"): the bus (two connections, one
 * of them subscribed), and one connection for presence and the shared limits. Start-up fails
 * with the reason when Redis cannot be reached, like a database that cannot be opened.
 */
export class RedisCluster implements ClusterRedis {
  private constructor(
    readonly bus: RedisBus,
    private readonly commands: Redis,
    private readonly log: Logger,
    readonly clockOffset: RedisClockOffset,
    /**
     * The cluster's time: this node's clock moved onto Redis's (redis-clock.ts), its timers
     * unchanged. Everything one node stamps and another compares goes by it: presence expiries,
     * send-limit buckets, and the times of messages and of the bus's possible losses, which a node
     * reading back after an outage compares (a node whose clock is slow would otherwise have its
     * messages of the outage taken for older than the outage, and not read back).
     */
    readonly time: Clock,
  ) {}

  static async connect(url: string, log: Logger, clock: Clock, events?: BusEvents): Promise<RedisCluster> {
    // Auto-pipelining: the commands of one turn (a send limit taken per message of a burst of
    // sends) leave in one write, not one syscall each; each still gets its own reply.
    const commands = await connectRedis(url, 'commands', log.child({ part: 'redis' }), { enableAutoPipelining: true, socketTimeout: REDIS_ANSWER_TIMEOUT_MS });
    // The offset first: the bus stamps its losses with the cluster's time from its first event on.
    const clockOffset = new RedisClockOffset(commands, clock, log.child({ part: 'clock' }));
    try {
      await clockOffset.start();
      const time = clockOffset.corrected();
      const bus = await RedisBus.connect(url, log.child({ part: 'bus' }), { ...(events ? { events } : {}), now: () => time.now() });
      return new RedisCluster(bus, commands, log, clockOffset, time);
    } catch (error) {
      clockOffset.stop();
      commands.disconnect();
      throw error;
    }
  }

  /** Presence across nodes; `local` is this node's own delivery (for corrections to its clients). */
  online(local: EventPublisher): Promise<RedisOnline> {
    return RedisOnline.start(this.commands, this.bus, local, this.time, this.log.child({ part: 'presence' }));
  }

  sendLimiter(limits: SendRateLimits): RedisSendRate {
    return new RedisSendRate(this.commands, limits, this.time, this.log.child({ part: 'send-rate' }));
  }

  failureCounters() {
    return redisCounters(this.commands);
  }

  /** Which Redis server the commands connection reaches now (its run_id), for the node registry; null while it cannot be asked. */
  serverId(): Promise<string | null> {
    return redisServerId(this.commands);
  }

  /** Announces this node's cluster on this Redis, and returns the other clusters announced on it (cluster-announcements.ts). */
  announce(clusterId: string, node: { host: string; pid: number }, freshMs: number, onlyIfAlone: boolean): Promise<ClusterAnnouncement[]> {
    return announceCluster(this.commands, clusterId, node, freshMs, onlyIfAlone);
  }

  withdraw(clusterId: string): Promise<void> {
    return withdrawCluster(this.commands, clusterId);
  }

  /** Every connection to Redis is up (for /healthz). */
  get connected(): boolean {
    return this.bus.connected && this.commands.status === 'ready';
  }

  async close(): Promise<void> {
    this.clockOffset.stop();
    await this.bus.close();
    await (this.commands.status === 'ready' ? this.commands.quit().catch(() => this.commands.disconnect()) : this.commands.disconnect());
  }
}
