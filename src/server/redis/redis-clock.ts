import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';

/** How often the offset between this machine's clock and Redis's is measured again. */
export const CLOCK_CHECK_MS = 60_000;
/** An offset beyond this is logged: the machine's clock is off (no NTP?); Parley works around it, other software may not. */
export const CLOCK_WARN_MS = 2_000;

/**
 * The offset of Redis's clock from this machine's, so that times one node writes to Redis and
 * another reads mean the same: a presence entry's expiry, when a send-limit bucket was last
 * filled. Without it a node whose clock is off (no NTP, a VM resumed from a pause) would have
 * its users' entries swept as expired by the others (its presence flapping), or sweep theirs,
 * and would refill a bucket early or late for everyone.
 *
 * Measured with TIME against the node's clock (halfway through the round trip), at start and
 * every CLOCK_CHECK_MS of that clock; while Redis cannot be asked, the last offset stands. The
 * corrected clock keeps the node's own timers.
 */
export class RedisClockOffset {
  private offsetMs = 0;
  private warned = false;
  private stopChecks: (() => void) | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
  ) {}

  /** Measures now, then every CLOCK_CHECK_MS until `stop()`. */
  async start(): Promise<void> {
    await this.measure();
    this.stopChecks = this.clock.every(CLOCK_CHECK_MS, () => this.measure());
  }

  stop(): void {
    this.stopChecks?.();
    this.stopChecks = null;
  }

  /** Milliseconds to add to this machine's time to get Redis's. */
  get ms(): number {
    return this.offsetMs;
  }

  /** The node's clock, its `now()` moved onto Redis's time; its timers unchanged. */
  corrected(): Clock {
    const clock = this.clock;
    return {
      now: () => clock.now() + this.offsetMs,
      after: (ms, run) => clock.after(ms, run),
      every: (ms, run) => clock.every(ms, run),
    };
  }

  private async measure(): Promise<void> {
    const before = this.clock.now();
    const time = await this.redis.time().catch(() => null);
    const after = this.clock.now();
    if (!time) return;
    const redisMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    this.offsetMs = Math.round(redisMs - (before + after) / 2);
    const off = Math.abs(this.offsetMs) > CLOCK_WARN_MS;
    if (off && !this.warned) {
      this.log.warn(
        { offsetMs: this.offsetMs },
        `this machine's clock is ${(Math.abs(this.offsetMs) / 1000).toFixed(1)} s ${this.offsetMs < 0 ? 'ahead of' : 'behind'} Redis's: ` +
          "presence and send limits use Redis's time, but set the clocks right (NTP) on this machine or on Redis's",
      );
    } else if (!off && this.warned) this.log.info({ offsetMs: this.offsetMs }, "this machine's clock agrees with Redis's again");
    this.warned = off;
  }
}
