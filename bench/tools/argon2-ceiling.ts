/**
 * The hashing ceiling for `login`: argon2id verifications of the same hash, with the same
 * library and parameters Parley uses, `concurrency` at a time on libuv's thread pool, on the
 * server core. No HTTP, no database: the most logins per second this core could do.
 */
import argon2 from 'argon2';
import { summarize, type LatencySummary } from '../stats.ts';
import { serveRpc } from '../lib/rpc.ts';

export interface HashParams {
  hash: string;
  password: string;
  concurrency: number;
  durationMs: number;
}

serveRpc({
  run: async ({ hash, password, concurrency, durationMs }: HashParams): Promise<{ perSecond: number; latency: LatencySummary }> => {
    await argon2.verify(hash, password);
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        if (!(await argon2.verify(hash, password))) throw new Error('verification failed');
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { perSecond: (latencies.length * 1000) / (performance.now() - started), latency: summarize(latencies) };
  },
});
