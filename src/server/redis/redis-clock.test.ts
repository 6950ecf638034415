import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { hasRedis, privateRedis } from '../../../test/support/redis.ts';
import { connectRedis } from './connect.ts';
import { RedisClockOffset } from './redis-clock.ts';

describe.skipIf(!hasRedis)("a node's clock moved onto Redis's (RedisClockOffset)", () => {
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('measures how far the node’s clock is off, corrects now() by it, warns once, and says when the clock agrees again', async () => {
    const client = await connectRedis(redis().url, 'clock', { warn: () => {}, info: () => {} });
    cleanups.push(() => client.disconnect());
    const lines: { level: 'warn' | 'info'; msg: string }[] = [];
    const log = pino({ level: 'info' }, {
      write: (line: string) => {
        const { level, msg } = JSON.parse(line) as { level: number; msg: string };
        lines.push({ level: level === 40 ? 'warn' : 'info', msg });
      },
    });
    // This machine's clock a minute and a half behind (Redis runs on the same machine, on the right time).
    const clock = new ManualClock(Date.now() - 90_000);
    const offset = new RedisClockOffset(client, clock, log);
    cleanups.push(() => offset.stop());
    await offset.start();
    expect(Math.abs(offset.ms - 90_000)).toBeLessThan(1_000);
    expect(Math.abs(offset.corrected().now() - Date.now())).toBeLessThan(1_000);
    expect(lines).toEqual([{ level: 'warn', msg: expect.stringMatching(/^this machine's clock is 90\.\d s behind Redis's: presence and send limits use Redis's time/) }]);

    // The clock is set right (NTP came back), which the next check (every minute of that clock) finds and says once.
    await clock.advance(90_000);
    expect(Math.abs(offset.ms)).toBeLessThan(1_000);
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info']);
    expect(lines[1]!.msg).toBe("this machine's clock agrees with Redis's again");
  });
});
