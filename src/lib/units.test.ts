import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatSecondsFigure } from './units.ts';

describe('sizes and durations, one convention for the web client and the CLI', () => {
  it('sizes are binary multiples with binary symbols, three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1,023 B');
    expect(formatBytes(200_000)).toBe('195 KiB');
    expect(formatBytes(300 * 1024)).toBe('300 KiB');
    expect(formatBytes(5_000_000)).toBe('4.77 MiB');
    expect(formatBytes(13_002_342)).toBe('12.4 MiB');
    expect(formatBytes(2 * 1024 ** 3, 'zh-CN')).toBe('2 GiB');
  });

  it('a count is exact and grouped', () => {
    expect(formatCount(307_200)).toBe('307,200');
  });

  it('a very fast transfer still reads as a real figure, never "0.0"', () => {
    expect(formatSecondsFigure(0.0432)).toBe('0.043');
    expect(formatSecondsFigure(0.0004)).toBe('< 0.001');
    expect(formatSecondsFigure(1.256)).toBe('1.26');
    expect(formatSecondsFigure(12.34)).toBe('12.3');
  });
});
