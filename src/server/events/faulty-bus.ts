import type { Bus, EventHandler } from './bus.ts';
import type { DomainEvent } from './events.ts';

/** What happens to one published event on its way through the bus. */
export type Fault = 'pass' | 'drop' | 'duplicate' | 'delay';

/**
 * A test double around a real Bus that misbehaves as a network bus may: it drops an event,
 * delivers one twice, or delays one until after the next (so the next overtakes it), as `plan`
 * says for each published event. The contract suite (bus-contract.ts) shows that subscribers
 * still deliver every message once and in order.
 */
export class FaultyBus implements Bus {
  private delayed: DomainEvent[] = [];
  private count = 0;

  constructor(
    private readonly inner: Bus,
    private readonly plan: (event: DomainEvent, index: number) => Fault,
  ) {}

  publish(event: DomainEvent): void {
    const fault = this.plan(event, this.count++);
    if (fault === 'delay') {
      this.delayed.push(event);
      return;
    }
    if (fault !== 'drop') this.inner.publish(event);
    if (fault === 'duplicate') this.inner.publish(event);
    this.releaseDelayed();
  }

  /** Delivers whatever is still delayed (the end of a test's traffic). */
  flush(): void {
    this.releaseDelayed();
  }

  subscribe(handler: EventHandler): () => void {
    return this.inner.subscribe(handler);
  }

  private releaseDelayed(): void {
    const late = this.delayed;
    this.delayed = [];
    for (const event of late) this.inner.publish(event);
  }
}
