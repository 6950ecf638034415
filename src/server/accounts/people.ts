import type { PeopleReply, UserRef } from '../../protocol/index.ts';
import type { PresenceView } from '../chat/presence.ts';
import type { Store } from '../storage/store.ts';
import { nameKeyOf } from './names.ts';

/**
 * The people directory: anyone by the start of their name, online or not, so no one has to know
 * an exact name to start a conversation. Names are public to every signed-in user anyway (the
 * world chat shows them); the directory adds no more than that.
 */
export class People {
  constructor(
    private readonly store: Store,
    private readonly presence: PresenceView,
  ) {}

  async search(prefix: string, options: { after?: string; limit: number }): Promise<PeopleReply> {
    const rows = await this.store.usersByPrefix(nameKeyOf(prefix.trim()), {
      limit: options.limit,
      ...(options.after === undefined ? {} : { after: nameKeyOf(options.after) }),
    });
    const people = rows.map((row) => ({ id: row.id, name: row.name, online: this.presence.isOnline(row.id) }));
    const last = rows.at(-1);
    return rows.length === options.limit && last ? { people, next: last.name } : { people };
  }

  user(id: number): Promise<UserRef | null> {
    return this.store.userById(id);
  }
}
