import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD } from '../src/protocol/index.ts';
import { hashToken } from '../src/server/accounts/tokens.ts';
import { PostgresStore } from '../src/server/storage/postgres/postgres-store.ts';
import { SqliteStore } from '../src/server/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/server/storage/store.ts';
import { offer, patchUpload, threeUsers } from './support/files.ts';
import { PostgresBlobStore } from '../src/server/files/postgres-blob-store.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { startTestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

function parley(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.PARLEY_DATA_DIR;
  delete env.PARLEY_DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Every message of a conversation, read page by page as clients read it. */
async function pages(store: Store, conv: string) {
  const all = [];
  for (let before: number | undefined; ; ) {
    const page = await store.page(conv, 50, before);
    all.push(page);
    if (!page.hasMore) return all;
    before = page.messages[0]!.seq;
  }
}

describe.runIf(hasPostgres)('parley migrate --from <data dir> --to postgres://…', () => {
  const postgres = privatePostgres();
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'parley-migrate-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('copies a single-node install into an empty database: every count, history page, summary, room, file card and session equal', async () => {
    const server = await startTestServer({ dataDir, flags: ['--send-rate', '100000', '--send-burst', '100000'] });
    const { alice, bob, carol, conv: dm } = await threeUsers(server.url);
    for (let i = 0; i < 120; i++) await (i % 3 === 0 ? bob : alice).api.send(WORLD, `world ${i}`, `w${i}`);
    for (let i = 0; i < 7; i++) await (i % 2 ? bob : alice).api.send(dm, `dm ${i}`, `d${i}`);
    const card = await offer(alice.files, dm, Buffer.from('notes'));
    const bytes = randomBytes(1.5 * 1024 * 1024);
    const sent = await offer(alice.files, dm, bytes, 'sent.bin');
    await bob.files.decide(sent.id, 'accept');
    expect((await patchUpload(alice.api, sent, 0, bytes)).status).toBe(204);
    const room = await new RoomApi(alice.api).create({ name: 'Book club', topic: 'ch. 3', visibility: 'public', invite: [bob.user.id] });
    await new RoomApi(carol.api).join(room.id);
    await carol.api.send(room.id, 'hello room', 'r1');
    await server.close();

    const url = await postgres().createDatabase();
    const run = await parley(['migrate', '--from', dataDir, '--to', url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Copied 3 users, 3 sessions, 3 conversations, 133 messages, 8 memberships and 2 file cards .*every count checked/);

    const sqlite = new SqliteStore(join(dataDir, 'parley.sqlite'));
    const copy = await PostgresStore.open(url);
    try {
      for (const { user, token } of [alice, bob, carol]) {
        expect(await copy.conversationsOf(user)).toEqual(await sqlite.conversationsOf(user));
        expect(await copy.files.ofUser(user.id, { limit: 100 })).toEqual(await sqlite.files.ofUser(user.id, { limit: 100 }));
        expect(await copy.sessionByTokenHash(hashToken(token))).toEqual(await sqlite.sessionByTokenHash(hashToken(token)));
        expect(await copy.userByNameKey(user.name)).toEqual(await sqlite.userByNameKey(user.name));
      }
      for (const conv of [WORLD, dm, room.id]) expect(await pages(copy, conv)).toEqual(await pages(sqlite, conv));
      expect((await pages(copy, WORLD)).length).toBe(3);
      expect(await copy.rooms.info(room.id)).toEqual(await sqlite.rooms.info(room.id));
      expect(await copy.rooms.members(room.id, { limit: 10 })).toEqual(await sqlite.rooms.members(room.id, { limit: 10 }));
      expect(await copy.files.byId(card.id)).toEqual(await sqlite.files.byId(card.id));
      // The bytes moved too: a node on PostgreSQL serves the file sent before the move.
      const blob: Buffer[] = [];
      for await (const part of new PostgresBlobStore(copy.db).read(sent.id, 0, bytes.length - 1)) blob.push(part as Buffer);
      expect(Buffer.concat(blob).equals(bytes)).toBe(true);

      // Life goes on where it stopped: the next user, seq and rev follow the copied ones.
      const dave = await copy.createUser({ name: 'dave', nameKey: 'dave', passwordHash: 'h', createdAt: 1 });
      expect(dave!.id).toBe(carol.user.id + 1);
      const [next] = await copy.commit([{ conv: WORLD, sender: alice.user, clientId: 'after', text: 'after the move', ts: 1 }]);
      expect(next).toMatchObject({ ok: true, message: { seq: 121 } });
      const accepted = await copy.files.update(card.id, ['offered'], { state: 'accepted' });
      expect(accepted!.rev).toBeGreaterThan((await sqlite.rooms.info(room.id))!.rev);
    } finally {
      await sqlite.close();
      await copy.close();
    }

    const again = await parley(['migrate', '--from', dataDir, '--to', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds Parley data: migrate only into an empty database/);
  });

  it('refuses a folder that holds no Parley database, and copies nothing', async () => {
    const url = await postgres().createDatabase();
    const empty = await mkdtemp(join(tmpdir(), 'parley-migrate-empty-'));
    const run = await parley(['migrate', '--from', empty, '--to', url]);
    await rm(empty, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/holds no Parley database \(parley\.sqlite\)/);
  });
});
