import { ParleyError } from '../errors.ts';
import type { CommitResult, PendingMessage, Store } from '../storage/store.ts';

interface Waiting {
  message: PendingMessage;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. Sends that arrive within one turn of the event loop are committed together in
 * one transaction (one fsync), then `onCommitted` runs for each, in sequence order, and only
 * then is each sender's promise resolved: acknowledge after commit, fan out after commit.
 * See docs/ARCHITECTURE.md, "The message path".
 */
export class CommitQueue {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly onCommitted: (result: CommitResult) => void,
    private readonly maxBatch = 1000,
  ) {}

  enqueue(message: PendingMessage): Promise<CommitResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ message, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything enqueued so far is committed (used on shutdown). */
  async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.flushing) {
      await (this.flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks, so every frame already read joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.waiting.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0, this.maxBatch);
    let results: CommitResult[];
    try {
      results = await this.store.commit(batch.map((w) => w.message));
    } catch (error) {
      // The database did not answer this batch within its bound: the sends that queued up behind
      // it meanwhile fail with it, instead of each waiting out a bound of its own in turn (a send
      // would otherwise wait up to twice the bound, and a steady sender's backlog longer). Their
      // clients send them again with the same client ids; nothing of them was stored.
      const behind = error instanceof ParleyError && error.code === 'STORE_UNAVAILABLE' ? this.waiting.splice(0) : [];
      for (const w of [...batch, ...behind]) w.reject(error);
      return;
    }
    for (const [i, result] of results.entries()) {
      this.onCommitted(result);
      batch[i]!.resolve(result);
    }
  }
}
