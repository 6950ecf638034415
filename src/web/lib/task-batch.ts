/**
 * Gathers items and hands them over together, on the next task. Not a microtask: the network
 * messages already queued get in first, so a burst arrives in batches as large as the backlog
 * and the page renders once per batch rather than once per message. A MessageChannel task, unlike
 * a timer, is not throttled in a background tab (unread counts and notifications stay prompt).
 */
export class TaskBatch<T> {
  private items: T[] = [];
  private scheduled = false;
  private readonly channel = new MessageChannel();

  constructor(private readonly deliver: (items: T[]) => void) {
    this.channel.port1.onmessage = () => {
      this.scheduled = false;
      this.flush();
    };
  }

  add(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    this.channel.port2.postMessage(null);
  }

  /** Delivers what is waiting now, so whatever must come after these items sees them applied. */
  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.deliver(items);
  }

  /** Drops what is waiting and lets go of the channel. */
  close(): void {
    this.items = [];
    this.channel.port1.close();
  }
}
