/**
 * The arithmetic every scenario reports with: percentiles of latency samples, medians over
 * rounds and the Parley/peer ratios. Kept pure and small so that a unit test can pin it down
 * on known inputs (test/bench-stats.test.ts).
 */

/**
 * The p-th percentile by the nearest-rank method: the smallest sample such that at least p %
 * of the samples are less than or equal to it. `sorted` must be in ascending order. No
 * interpolation, so a reported p99 is a latency some message really had.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Summarises samples (any order; the input is not modified). */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0]! : Number.NaN,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: n ? sorted[n - 1]! : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

/** The median of a few round results; the mean of the middle two for an even count. NaNs are ignored. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = finite.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** a / b, or NaN when either is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return Number.NaN;
  return a / b;
}

/**
 * Per-round ratios of Parley to one peer, and their median. Rounds pair up by index: in round
 * i Parley and the peer ran back to back, so their ratio cancels most of the machine's drift.
 */
export function roundRatios(parley: readonly number[], peer: readonly number[]): { perRound: number[]; median: number } {
  const perRound = parley.map((value, i) => ratio(value, peer[i]));
  return { perRound, median: median(perRound) };
}

/** Rate per second of `count` events over `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** A growable buffer of float samples, cheaper than a JS array for hundreds of thousands of values. */
export class SampleBuffer {
  private data = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}
