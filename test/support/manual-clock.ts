import type { Clock } from '../../src/server/clock.ts';

interface Timer {
  at: number;
  period: number | null;
  run: () => unknown;
}

/**
 * A clock that moves only when the test says so. `advance` runs every timer that has come due,
 * in order, and waits for what they started (a sweep's queries): after `await clock.advance(ms)`
 * their effects are in the database. A repeating timer runs at most once per `advance`, like on
 * a machine that slept, then resumes its period from the new time.
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly timers = new Set<Timer>();

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, run: () => unknown): () => void {
    return this.add({ at: this.time + ms, period: null, run });
  }

  every(ms: number, run: () => unknown): () => void {
    return this.add({ at: this.time + ms, period: ms, run });
  }

  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = [...this.timers].filter((timer) => timer.at <= this.time).sort((a, b) => a.at - b.at);
    const started: unknown[] = [];
    for (const timer of due) {
      if (!this.timers.has(timer)) continue; // cancelled by an earlier one
      if (timer.period === null) this.timers.delete(timer);
      else timer.at = this.time + timer.period;
      started.push(timer.run());
    }
    await Promise.all(started);
  }

  private add(timer: Timer): () => void {
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }
}
