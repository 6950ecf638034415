import type { UserRef } from '../../../protocol/index.ts';
import type { CommitResult, PendingMessage, Store } from '../store.ts';

/** Opens a fresh store; `reopen` opens the same data again (durability). */
export type OpenStore = () => Promise<{ store: Store; reopen: () => Promise<Store> }>;

export async function withUsers(store: Store, ...names: string[]): Promise<UserRef[]> {
  const users: UserRef[] = [];
  for (const name of names) {
    const user = await store.createUser({ name, nameKey: name.toLowerCase(), passwordHash: 'h', createdAt: 1 });
    users.push({ id: user!.id, name: user!.name });
  }
  return users;
}

export function pending(conv: string, sender: UserRef, clientId: string, text = clientId): PendingMessage {
  return { conv, sender, clientId, text, ts: 1000 };
}

export function committed(result: CommitResult | undefined) {
  if (!result?.ok) throw new Error('expected a committed message');
  return result;
}
