import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { SendRate, rateLimited, type SendLimiter, type SendRateLimits } from './send-rate.ts';

/**
 * The token bucket of lib/token-bucket.ts, kept in Redis: KEYS[1] the user's bucket; ARGV rate
 * per second, burst, now (ms). Returns 0 when a token was taken, else the milliseconds until one
 * is there. A bucket left alone expires once it would be full again (a full bucket is no bucket).
 */
const TAKE = `
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if not tokens then tokens, at = burst, now end
-- A clock set back refills nothing (and takes nothing away).
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return wait
`;

const TAKE_COMMAND = 'parleyTakeSendToken';
type TakeCommand = (key: string, perSecond: number, burst: number, now: number) => Promise<number>;

/**
 * The per-user send limit shared by every node: one bucket per user in Redis, on Redis's time (the
 * node's clock corrected by its offset from Redis's, as for presence). While Redis is away each node falls
 * back to its own buckets: sends go on at one node's rate rather than failing.
 */
export class RedisSendRate implements SendLimiter {
  private readonly fallback: SendRate;
  private failing = false;

  constructor(
    private readonly redis: Redis,
    private readonly limits: SendRateLimits,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, 'warn'>,
    private readonly prefix = 'parley:send:',
  ) {
    this.fallback = new SendRate(limits, clock);
    // A defined command runs by its SHA (EVALSHA, loading the script once on NOSCRIPT): a send
    // does not carry the script to Redis, nor make Redis hash it again, every time.
    if (!(TAKE_COMMAND in redis)) redis.defineCommand(TAKE_COMMAND, { numberOfKeys: 1, lua: TAKE });
  }

  async take(userId: number): Promise<void> {
    let wait: number;
    try {
      const take = (this.redis as unknown as Record<typeof TAKE_COMMAND, TakeCommand>)[TAKE_COMMAND];
      wait = await take.call(this.redis, `${this.prefix}${userId}`, this.limits.perSecond, this.limits.burst, this.clock.now());
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log.warn({ err: error }, 'send limits fall back to this node while Redis is away');
      this.failing = true;
      return this.fallback.take(userId);
    }
    if (wait > 0) throw rateLimited(wait);
  }
}
