/**
 * Where the server reads the time and schedules what depends on it: the file expiry sweep, send
 * rate limits, heartbeats, the hello timeout, upload progress, the 30 s a newer upload request
 * waits for the running one to let go (on one node). Tests pass a clock they move by hand
 * (test/support/manual-clock.ts), so none of these depends on how busy the machine is.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `run` once after `ms`; the returned function cancels it. */
  after(ms: number, run: () => unknown): () => void;
  /** Runs `run` every `ms`; the returned function cancels it. */
  every(ms: number, run: () => unknown): () => void;
}

/** The real time. Its timers never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
