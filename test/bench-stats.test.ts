import { describe, expect, it } from 'vitest';
import { SampleBuffer, median, percentileOfSorted, perSecond, ratio, roundRatios, summarize } from '../bench/stats.ts';
import { spread } from '../bench/load/chat-load.ts';

describe('benchmark latency arithmetic', () => {
  it('takes the nearest-rank percentile: the smallest sample with at least p % of samples at or below it', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentileOfSorted(sorted, 50)).toBe(5);
    expect(percentileOfSorted(sorted, 90)).toBe(9);
    expect(percentileOfSorted(sorted, 95)).toBe(10);
    expect(percentileOfSorted(sorted, 99)).toBe(10);
    expect(percentileOfSorted(sorted, 100)).toBe(10);
    expect(percentileOfSorted(sorted, 10)).toBe(1);
    expect(percentileOfSorted(sorted, 11)).toBe(2);
  });

  it('reports a p99 of 100 samples as the 99th smallest, so one outlier in a hundred does not set it', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    samples[99] = 10_000;
    expect(percentileOfSorted(samples, 99)).toBe(99);
    expect(percentileOfSorted(samples, 100)).toBe(10_000);
  });

  it('handles a single sample and no samples', () => {
    expect(percentileOfSorted([7], 1)).toBe(7);
    expect(percentileOfSorted([7], 99)).toBe(7);
    expect(percentileOfSorted([], 50)).toBeNaN();
    expect(() => percentileOfSorted([1], 0)).toThrow(RangeError);
    expect(() => percentileOfSorted([1], 101)).toThrow(RangeError);
  });

  it('summarises unsorted samples without changing them', () => {
    const samples = [5, 1, 4, 2, 3];
    const summary = summarize(samples);
    expect(summary).toEqual({ count: 5, min: 1, p50: 3, p95: 5, p99: 5, max: 5, mean: 3 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('computes percentiles of 1,000 known latencies (0.1 ms to 100 ms)', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => (1000 - i) / 10);
    const summary = summarize(samples);
    expect(summary.p50).toBeCloseTo(50.0, 10);
    expect(summary.p95).toBeCloseTo(95.0, 10);
    expect(summary.p99).toBeCloseTo(99.0, 10);
    expect(summary.mean).toBeCloseTo(50.05, 10);
  });

  it('takes medians of round results, averaging the middle two and ignoring missing rounds', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('pairs Parley and a peer round by round for ratios', () => {
    const { perRound, median: mid } = roundRatios([100, 200, 300], [50, 100, 200]);
    expect(perRound).toEqual([2, 2, 1.5]);
    expect(mid).toBe(2);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(undefined, 2)).toBeNaN();
  });

  it('turns counts over a window into rates', () => {
    expect(perSecond(1500, 3000)).toBe(500);
    expect(perSecond(1, 0)).toBeNaN();
  });

  it('grows a sample buffer past its first allocation', () => {
    const buffer = new SampleBuffer();
    for (let i = 0; i < 5000; i++) buffer.push(i);
    expect(buffer.length).toBe(5000);
    expect(buffer.values()[4999]).toBe(4999);
    expect(summarize(buffer.values()).p50).toBe(2499);
    buffer.clear();
    expect(buffer.values().length).toBe(0);
  });

  it('spreads latency-sampling clients over the connection order, first and last included', () => {
    expect([...spread(1000, 5)]).toEqual([0, 250, 500, 749, 999]);
    expect([...spread(10, 1)]).toEqual([9]);
    expect(spread(3, 10).size).toBe(3);
    expect(spread(0, 3).size).toBe(0);
  });
});
