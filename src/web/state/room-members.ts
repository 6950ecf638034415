import { signal } from '@preact/signals';
import type { ConversationId } from '../../protocol/conversations.ts';
import type { ServerFrameOf } from '../../protocol/frames.ts';
import type { RoomMember } from '../../protocol/rooms.ts';
import type { ChatStore } from './chat-store.ts';

export type Member = Omit<RoomMember, 'online'>;

/**
 * The member list of one room, as the members panel shows it: loaded a page at a time over HTTP,
 * then kept current by `member` frames (joins, departures, new roles). Each member keeps the
 * newest `rev` it was told of: a frame older than that one changes nothing (after a Redis outage
 * the server refills what was missed, and a newer live change may have come first). Who is online
 * comes from the store's live presence, not from the page, which is only a snapshot.
 */
export class RoomMembers {
  readonly members = signal<ReadonlyMap<number, Member>>(new Map());
  readonly status = signal<'loading' | 'done' | 'error'>('loading');
  /** Where the next page starts, when there is one. */
  readonly next = signal<string | undefined>(undefined);
  private readonly stop: () => void;
  /** Frames that came while a page was on its way: applied again on top of it, in order. */
  private inFlight: ServerFrameOf<'member'>[] | null = null;
  /** The newest rev told of each member (departed ones included). */
  private readonly revs = new Map<number, number>();

  constructor(
    private readonly store: ChatStore,
    readonly conv: ConversationId,
  ) {
    this.stop = store.session.on('member', (change) => {
      if (change.conv !== conv) return;
      this.inFlight?.push(change);
      this.apply(change);
    });
    void this.load();
  }

  async load(after?: string): Promise<void> {
    this.status.value = 'loading';
    this.inFlight = [];
    try {
      const page = await this.store.roomApi.members(this.conv, after === undefined ? {} : { after });
      const next = new Map(after === undefined ? [] : this.members.value);
      for (const { user, role } of page.members) next.set(user.id, { user, role });
      this.members.value = next;
      // A change that the page already shows is applied twice: joins, departures and roles are idempotent.
      for (const change of this.inFlight) this.apply(change);
      this.next.value = page.next;
      this.status.value = 'done';
    } catch {
      this.status.value = 'error';
    } finally {
      this.inFlight = null;
    }
  }

  close(): void {
    this.stop();
  }

  private apply({ user, role, rev }: ServerFrameOf<'member'>): void {
    if ((this.revs.get(user.id) ?? 0) > rev) return;
    this.revs.set(user.id, rev);
    const next = new Map(this.members.value);
    if (role === null) next.delete(user.id);
    else next.set(user.id, { user, role });
    this.members.value = next;
  }
}
