import { summarize, type LatencySummary } from '../stats.ts';

/**
 * A login storm: `concurrency` loops each posting /api/login back to back for `durationMs`,
 * spread over many accounts. Every login costs the server one argon2id verification.
 */
export interface StormParams {
  port: number;
  names: string[];
  password: string;
  concurrency: number;
  durationMs: number;
}

export interface StormResult {
  logins: number;
  failures: number;
  perSecond: number;
  latency: LatencySummary;
}

export async function runStorm(params: StormParams): Promise<StormResult> {
  const url = `http://127.0.0.1:${params.port}/api/login`;
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + params.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const name = params.names[next++ % params.names.length]!;
      const t0 = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password: params.password }),
      });
      await response.arrayBuffer();
      if (response.ok) latencies.push(performance.now() - t0);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, loop));
  const ms = performance.now() - started;
  return { logins: latencies.length, failures, perSecond: (latencies.length * 1000) / ms, latency: summarize(latencies) };
}
