/** A token bucket: `ratePerSecond` sustained, `burst` at once. `now` is in milliseconds (Clock.now). */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Whether the bucket has refilled to its burst (nothing taken recently). */
  isFull(): boolean {
    const now = this.now();
    return this.tokens + (Math.max(0, now - this.updatedAt) * this.ratePerSecond) / 1000 >= this.burst;
  }

  /** Takes a token and returns 0, or returns the milliseconds until one is available. */
  take(): number {
    const now = this.now();
    // A wall clock set back refills nothing (and takes nothing away).
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
