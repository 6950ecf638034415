import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';
import { scratchDatabase } from '../../../../test/support/scratch.ts';

/** A database as Parley left it before rooms (schema version 3), with a world chat, a DM and a file. */
function oldInstall(): string {
  const file = scratchDatabase('migrate');
  const db = new Database(file);
  for (const migration of MIGRATIONS.slice(0, 3)) db.exec(migration as string);
  db.pragma('user_version = 3');
  db.exec(`
    INSERT INTO users (id, name, name_key, password_hash, created_at) VALUES (1, 'alice', 'alice', 'h', 1), (2, 'bob', 'bob', 'h', 1);
    INSERT INTO memberships (user_id, conv_id, read_seq) VALUES (1, 'world', 2), (2, 'world', 0);
    UPDATE conversations SET last_seq = 2 WHERE id = 'world';
    INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ('world', 1, 1, 'w1', 'hello', 10), ('world', 2, 1, 'w2', 'again', 11);
    INSERT INTO conversations (id, kind, last_seq, created_at) VALUES ('dm:1:2', 'dm', 1, 12);
    INSERT INTO memberships (user_id, conv_id, read_seq) VALUES (1, 'dm:1:2', 1), (2, 'dm:1:2', 0);
    INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ('dm:1:2', 1, 1, 'f1', 'notes.txt', 12);
    INSERT INTO files (id, conv_id, seq, sender_id, recipient_id, name, size, type, sha256, state, offered_at, rev)
      VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'dm:1:2', 1, 1, 2, 'notes.txt', 3, '', '${'a'.repeat(64)}', 'offered', 12, 7);
  `);
  db.close();
  return file;
}

describe('migration to rooms (schema 4)', () => {
  it('keeps an old install working: its world, DMs, read positions and files, with revs going on from the highest', async () => {
    const store = new SqliteStore(oldInstall());
    const alice = { id: 1, name: 'alice' };
    const bob = { id: 2, name: 'bob' };
    expect(await store.conversationsOf(bob)).toMatchObject([
      { id: 'world', kind: 'world', lastSeq: 2, readSeq: 0, unread: 2 },
      { id: 'dm:1:2', kind: 'dm', peer: alice, lastSeq: 1, readSeq: 0, unread: 1, last: { file: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rev: 7 } } },
    ]);
    expect(await store.membership(2, 'dm:1:2')).toMatchObject({ kind: 'dm', role: 'member' });
    expect(await store.memberIds('dm:1:2')).toEqual([1, 2]);
    const [next] = await store.commit([{ conv: 'dm:1:2', sender: bob, clientId: 'b1', text: 'got it', ts: 20 }]);
    expect(next).toMatchObject({ ok: true, message: { seq: 2 }, convKind: 'dm', members: [1, 2], created: [] });
    const accepted = await store.files.update('AAAAAAAAAAAAAAAAAAAAAA', ['offered'], { state: 'accepted' });
    expect(accepted?.rev).toBe(8);
    const created = await store.rooms.create(
      { conv: 'room:AAAAAAAAAAAA', name: 'r', nameKey: 'r', topic: '', visibility: 'public', owner: alice, ts: 30 },
      [bob],
    );
    expect(created.members.map((m) => m.rev)).toEqual([9, 10]);
    await store.close();
  });

  it('refuses a database from a newer Parley', () => {
    const file = oldInstall();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer than this Parley/);
  });
});
