import type { ChatSession } from '../client/index.ts';
import type { FileApi } from '../client/files.ts';
import { newerCard, type FileCard } from '../protocol/index.ts';

/**
 * The newest card of each file this command cares about, fed by the live session's `file`
 * frames and by cards read over HTTP; `until` waits for a card to reach a condition.
 */
export class FileCards {
  private readonly cards = new Map<string, FileCard>();
  private readonly waiters = new Set<{ id: string; check: (card: FileCard) => boolean; resolve: (card: FileCard) => void }>();
  private readonly listeners = new Set<(card: FileCard) => void>();

  constructor(session: ChatSession, files: FileApi) {
    session.on('file', (card) => this.update(card));
    // After a reconnect, read the open cards again: a change made while the socket was down is
    // replayed only to a session that already held a rev.
    session.on('synced', () => {
      for (const card of this.cards.values()) {
        if (card.state === 'offered' || card.state === 'accepted') files.get(card.id).then((fresh) => this.update(fresh), () => {});
      }
    });
  }

  update(card: FileCard): FileCard {
    const newest = newerCard(this.cards.get(card.id), card);
    if (newest !== card) return newest;
    this.cards.set(card.id, card);
    for (const listener of this.listeners) listener(card);
    for (const waiter of this.waiters) {
      if (waiter.id === card.id && waiter.check(card)) {
        this.waiters.delete(waiter);
        waiter.resolve(card);
      }
    }
    return card;
  }

  get(id: string): FileCard | undefined {
    return this.cards.get(id);
  }

  onChange(listener: (card: FileCard) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  until(id: string, check: (card: FileCard) => boolean): Promise<FileCard> {
    const known = this.cards.get(id);
    if (known && check(known)) return Promise.resolve(known);
    return new Promise((resolve) => this.waiters.add({ id, check, resolve }));
  }
}
