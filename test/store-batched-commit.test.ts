import { describe, expect, it } from 'vitest';
import type { UserRef } from '../src/protocol/index.ts';
import { SqliteStore } from '../src/server/storage/sqlite/sqlite-store.ts';
import { scratchDatabase } from './support/scratch.ts';

// The SQLite commit detects retried sends through the unique index and moves read positions
// once per batch (bench: ingest, docs/PERFORMANCE.md); these are the edges of that shortcut.
describe('SQLite batched commit', () => {
  async function open() {
    const store = new SqliteStore(scratchDatabase('store'));
    const users: UserRef[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const user = await store.createUser({ name, nameKey: name, passwordHash: 'h', createdAt: 1 });
      users.push({ id: user!.id, name });
    }
    return { store, users };
  }
  const pending = (conv: string, sender: UserRef, clientId: string) => ({ conv, sender, clientId, text: clientId, ts: 1000 });

  it('does not create a direct conversation for a retried client id that was first used elsewhere', async () => {
    const { store, users } = await open();
    const [alice, , carol] = users;
    await store.commit([pending('world', alice!, 'same-id')]);
    const [retry] = await store.commit([{ ...pending(`dm:${alice!.id}:${carol!.id}`, alice!, 'same-id'), direct: [alice!, carol!] as const }]);
    expect(retry).toMatchObject({ duplicate: true, created: [], message: { conv: 'world', seq: 1 } });
    expect((await store.conversationsOf(alice!)).map((c) => c.id)).toEqual(['world']);
    await store.close();
  });

  it('leaves no hole in the numbering after a retry inside a batch', async () => {
    const { store, users } = await open();
    const [alice, bob] = users;
    const results = await store.commit([
      pending('world', alice!, 'a1'),
      pending('world', alice!, 'a1'),
      pending('world', bob!, 'b1'),
    ]);
    expect(results.map((r) => r.ok && [r.message.seq, r.duplicate])).toEqual([
      [1, false],
      [1, true],
      [2, false],
    ]);
    expect(await store.lastSeq('world')).toBe(2);
    await store.close();
  });

  it('moves each sender’s read position to their last message of the batch', async () => {
    const { store, users } = await open();
    const [alice, bob] = users;
    await store.commit([pending('world', alice!, 'a1'), pending('world', bob!, 'b1'), pending('world', alice!, 'a2'), pending('world', bob!, 'b2')]);
    const [aliceWorld] = await store.conversationsOf(alice!);
    const [bobWorld] = await store.conversationsOf(bob!);
    expect(aliceWorld).toMatchObject({ readSeq: 3, unread: 1 });
    expect(bobWorld).toMatchObject({ readSeq: 4, unread: 0 });
    await store.close();
  });
});
