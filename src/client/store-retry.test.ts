import { describe, expect, it } from 'vitest';
import { STORE_RETRY_DEFAULT_MS, STORE_RETRY_MAX_MS, storeRetryDelay } from './store-retry.ts';

describe('storeRetryDelay', () => {
  const middle = () => 0.5;
  it('waits at least what the server asked, doubling the bound per wait up to the cap', () => {
    expect(storeRetryDelay(1000, 0, middle)).toBe(1000);
    expect(storeRetryDelay(1000, 1, middle)).toBe(1500);
    expect(storeRetryDelay(1000, 10, middle)).toBe(11_250);
    expect(storeRetryDelay(1000, 10, () => 1)).toBe(STORE_RETRY_MAX_MS);
  });

  it('takes a missing, negative, NaN or absurd hint within reason instead of hammering or stalling', () => {
    expect(storeRetryDelay(undefined, 0, middle)).toBe(STORE_RETRY_DEFAULT_MS);
    expect(storeRetryDelay(-5, 0, middle)).toBe(STORE_RETRY_DEFAULT_MS);
    expect(storeRetryDelay(Number.NaN, 0, middle)).toBe(STORE_RETRY_DEFAULT_MS);
    expect(storeRetryDelay(1e12, 0, middle)).toBe(STORE_RETRY_MAX_MS);
    expect(storeRetryDelay(1e12, 5, () => 1)).toBe(STORE_RETRY_MAX_MS);
  });
});
