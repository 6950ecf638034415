import { ParleyError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { TokenBucket } from '../../lib/token-bucket.ts';

export interface SendRateLimits {
  perSecond: number;
  burst: number;
}

/**
 * The per-user send limit, as Chat.send sees it: takes one send from the user's budget, or throws
 * RATE_LIMITED with the wait. In this process (SendRate) or shared by all nodes (RedisSendRate).
 */
export interface SendLimiter {
  take(userId: number): void | Promise<void>;
}

export function rateLimited(waitMs: number): ParleyError {
  return new ParleyError('RATE_LIMITED', `Sending too fast; try again in ${waitMs} ms.`, { retryAfterMs: waitMs });
}

/** Buckets are kept for this many users at most; beyond it, those that are full again are dropped. */
const MAX_TRACKED_USERS = 10_000;

/**
 * The send rate limit: one token bucket per user, whatever they send through (any number of
 * WebSocket connections, HTTP), in this process: the limiter of one node (across nodes,
 * redis-send-rate.ts keeps the same buckets in Redis).
 */
export class SendRate implements SendLimiter {
  private readonly buckets = new Map<number, TokenBucket>();

  constructor(
    private readonly limits: SendRateLimits,
    private readonly clock: Clock,
  ) {}

  /** Takes one send from the user's budget, or throws RATE_LIMITED with the wait. */
  take(userId: number): void {
    let bucket = this.buckets.get(userId);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED_USERS) this.dropFull();
      bucket = new TokenBucket(this.limits.perSecond, this.limits.burst, () => this.clock.now());
      this.buckets.set(userId, bucket);
    }
    const wait = bucket.take();
    if (wait > 0) throw rateLimited(wait);
  }

  /** A full bucket is the same as no bucket, so forgetting it changes nothing. */
  private dropFull(): void {
    for (const [userId, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(userId);
  }
}
