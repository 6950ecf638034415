/**
 * Exports on either database, through the paths people use: `parley export` as its own process
 * (`--data` for SQLite, `--database` for PostgreSQL) and a user's `GET /api/me/export`. The same
 * cases run against a server on SQLite and one on PostgreSQL; then the same conversation, held by
 * one of each, must export to the same records in the same order.
 */
import { execFile } from 'node:child_process';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyApi } from '../src/client/api.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { EXPORTS_AT_ONCE, exportLines, type OpenExportSnapshot } from '../src/server/backup/export.ts';
import { postgresExportSnapshots } from '../src/server/backup/postgres-export.ts';
import { sqliteExportSnapshots } from '../src/server/backup/sqlite-export.ts';
import { Database as PostgresDatabase } from '../src/server/storage/postgres/database.ts';
import { WORLD, dmId } from '../src/protocol/index.ts';
import { connect, registerUser, sleep, type Client } from './support/clients.ts';
import { sha256, threeUsers } from './support/files.ts';
import { hasPostgres, privatePostgres, type TestPostgres } from './support/postgres.ts';
import { scratchDir } from './support/scratch.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function parley(args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.PARLEY_DATA_DIR;
  delete env.PARLEY_DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

type ExportRecord = { type: string; [key: string]: unknown };
const records = (ndjson: string) => ndjson.trim().split('\n').map((line) => JSON.parse(line) as ExportRecord);
const ofType = (lines: ExportRecord[], type: string) => lines.filter((record) => record.type === type);

/** A server on a fresh database of one kind, and how an operator exports and counts that database. */
interface ExportTarget {
  server: TestServer;
  /** `parley export`'s arguments for the whole server. */
  exportArgs: string[];
  /** Rows of a table, read from the database itself. */
  count(table: 'users' | 'conversations' | 'messages' | 'files'): Promise<number>;
  /** Export snapshots of the database, read in this process (as the server reads them for a download). */
  snapshots(): { open: OpenExportSnapshot; close(): Promise<void> };
  close(): Promise<void>;
}

type StartTarget = (flags?: string[]) => Promise<ExportTarget>;

async function sqliteTarget(flags: string[] = []): Promise<ExportTarget> {
  const server = await startTestServer({ flags });
  return {
    server,
    exportArgs: ['export', '--data', server.dataDir],
    async count(table) {
      const db = new Database(join(server.dataDir, 'parley.sqlite'), { readonly: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    snapshots: () => ({ open: sqliteExportSnapshots(join(server.dataDir, 'parley.sqlite')), close: async () => {} }),
    close: () => server.close(),
  };
}

function postgresTarget(postgres: () => TestPostgres): StartTarget {
  return async (flags = []) => {
    const url = await postgres().createDatabase();
    const server = await startTestServer({ flags: ['--database', url, ...flags] });
    return {
      server,
      exportArgs: ['export', '--database', url],
      async count(table) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
        } finally {
          await client.end();
        }
      },
      snapshots() {
        const db = new PostgresDatabase(url, 1);
        return { open: postgresExportSnapshots(db), close: () => db.close() };
      },
      close: () => server.close(),
    };
  };
}

/** The checks every export must pass, on the database `start` puts a server on. */
function exportCases(start: StartTarget): void {
  describe('a user downloading their own data', () => {
    let target: ExportTarget;
    let server: TestServer;

    beforeAll(async () => {
      target = await start();
      server = target.server;
    });
    afterAll(async () => {
      await target?.close();
    });

    it('gets their account, their conversations, their DMs whole and only their own world messages', async () => {
      const { alice, bob, carol, conv } = await threeUsers(server.url);
      await alice.api.send(WORLD, 'hello world, alice here', 'a1');
      await carol.api.send(WORLD, 'carol in the world chat', 'c1');
      await alice.api.send(conv, 'bob, a secret for you', 'a2');
      await bob.api.send(conv, 'thanks alice', 'b1');
      await bob.api.send(dmId(bob.user.id, carol.user.id), 'bob to carol only', 'b2');

      const response = await fetch(`${server.url}/api/me/export`, { headers: { authorization: `Bearer ${alice.token}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="parley-export-\d{4}-\d{2}-\d{2}\.ndjson"; filename\*=UTF-8''parley-alice-/);
      const text = await response.text();
      const lines = records(text);
      expect(lines[0]).toMatchObject({ type: 'export', scope: 'user' });
      expect(lines.filter((record) => record.type === 'user').map((user) => user.name).sort()).toEqual(['alice', 'bob']);
      expect(lines.filter((record) => record.type === 'conversation').map((c) => c.id).sort()).toEqual([conv, WORLD].sort());
      expect(lines.filter((record) => record.type === 'message').map((message) => message.text)).toEqual(
        expect.arrayContaining(['hello world, alice here', 'bob, a secret for you', 'thanks alice']),
      );
      expect(text).not.toContain('carol in the world chat');
      expect(text).not.toContain('bob to carol only');
      expect(text).not.toMatch(/password|\$argon2/);
      const world = lines.find((record) => record.type === 'conversation' && record.id === WORLD)!;
      expect(world.members).toEqual([{ user: alice.user.id, role: 'member', joinedAt: expect.any(Number), readSeq: expect.any(Number) }]);
      // How far bob has read is bob's: alice's export has her own read position only.
      const dm = lines.find((record) => record.type === 'conversation' && record.id === conv)!;
      expect(dm.members).toEqual(
        [
          { user: alice.user.id, role: 'member', joinedAt: expect.any(Number), readSeq: expect.any(Number) },
          { user: bob.user.id, role: 'member', joinedAt: expect.any(Number), readSeq: null },
        ].sort((a, b) => a.user - b.user),
      );
    });

    it('is refused without a session', async () => {
      const response = await fetch(`${server.url}/api/me/export`);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('parley export of a server that is busy', () => {
    const SENDERS = 10;
    let target: ExportTarget;
    const clients: Client[] = [];
    const ids: number[] = [];
    const acked: { conv: string; seq: number; clientId: string }[] = [];

    beforeAll(async () => {
      target = await start(['--send-rate', '1000', '--send-burst', '1000']);
      for (let i = 0; i < SENDERS; i++) {
        const { api, user } = await registerUser(target.server.url, `sender${i}`);
        ids.push(user.id);
        clients.push(await connect(api));
      }
    });
    afterAll(async () => {
      for (const client of clients) client.close();
      await target?.close();
    });

    it('is one snapshot while clients send: every conversation whole up to its lastSeq, every message acknowledged before it, counts equal to the records', async () => {
      let sending = true;
      const senders = clients.map(async (client, i) => {
        for (let n = 0; sending; n++) {
          // Half in the world chat, half in a DM, so the snapshot must agree across conversations too.
          const conv = n % 2 === 0 ? WORLD : dmId(ids[i]!, ids[(i + 1) % SENDERS]!);
          const ack = await client.session.send(conv, `message ${n} from sender${i}`, `s${i}-${n}`);
          acked.push({ conv: ack.conv, seq: ack.seq, clientId: ack.clientId });
        }
      });
      while (acked.length < 600) await sleep(20);
      const ackedBefore = [...acked];
      const exported = await parley(target.exportArgs);
      const ackedDuring = acked.length - ackedBefore.length;
      sending = false;
      await Promise.all(senders);

      expect(exported.code, exported.stderr).toBe(0);
      // The clients did not stop for the export: it ran while they sent.
      expect(ackedDuring).toBeGreaterThan(0);
      const lines = records(exported.stdout);
      expect(lines[0]).toMatchObject({ type: 'export', format: 1, scope: 'server' });
      const messages = ofType(lines, 'message');
      const conversations = ofType(lines, 'conversation');
      expect(lines.at(-1)).toEqual({
        type: 'end',
        counts: { users: ofType(lines, 'user').length, conversations: conversations.length, messages: messages.length, files: ofType(lines, 'file').length },
      });
      expect(lines).toHaveLength(2 + ofType(lines, 'user').length + conversations.length + messages.length + ofType(lines, 'file').length);
      // Read in one snapshot, each conversation's lastSeq and its messages agree: seqs 1..lastSeq, none missing, none past it.
      for (const conversation of conversations) {
        const seqs = messages.filter((message) => message.conv === conversation.id).map((message) => message.seq);
        expect(seqs, String(conversation.id)).toEqual(Array.from({ length: conversation.lastSeq as number }, (_, i) => i + 1));
      }
      const stored = new Map(messages.map((message) => [`${message.conv}/${message.seq}`, message.clientId]));
      expect(ackedBefore.filter((message) => stored.get(`${message.conv}/${message.seq}`) !== message.clientId)).toEqual([]);
      expect(exported.stdout).not.toMatch(/password|\$argon2/);
    }, 120_000);

    it('holds one snapshot however slowly it is read: messages sent after the conversations were read are not in it', async () => {
      let sending = true;
      const senders = clients.map(async (client, i) => {
        for (let n = 0; sending; n++) {
          const conv = n % 2 === 0 ? WORLD : dmId(ids[i]!, ids[(i + 1) % SENDERS]!);
          const ack = await client.session.send(conv, `slow reader ${n} from sender${i}`, `r${i}-${n}`);
          acked.push({ conv: ack.conv, seq: ack.seq, clientId: ack.clientId });
        }
      });
      const { open, close } = target.snapshots();
      const lines: ExportRecord[] = [];
      let paused = false;
      try {
        for await (const line of exportLines(open, { kind: 'server' })) {
          const record = JSON.parse(line) as ExportRecord;
          lines.push(record);
          if (record.type !== 'conversation' || paused) continue;
          // A reader that stops after the first conversation, while the clients go on sending.
          paused = true;
          const before = acked.length;
          while (acked.length < before + 100) await sleep(20);
        }
      } finally {
        sending = false;
        await Promise.all(senders);
        await close();
      }
      const messages = ofType(lines, 'message');
      expect(acked.length).toBeGreaterThan(messages.length);
      for (const conversation of ofType(lines, 'conversation')) {
        const seqs = messages.filter((message) => message.conv === conversation.id).map((message) => message.seq);
        expect(seqs, String(conversation.id)).toEqual(Array.from({ length: conversation.lastSeq as number }, (_, i) => i + 1));
      }
      expect(lines.at(-1)).toMatchObject({ type: 'end', counts: { messages: messages.length } });
    }, 60_000);

    it("has an end line whose counts are the database's, once the sending stopped", async () => {
      const exported = await parley(target.exportArgs);
      expect(exported.code, exported.stderr).toBe(0);
      const end = records(exported.stdout).at(-1)!;
      expect(end).toEqual({
        type: 'end',
        counts: {
          users: await target.count('users'),
          conversations: await target.count('conversations'),
          messages: await target.count('messages'),
          files: await target.count('files'),
        },
      });
      expect(end.counts).toMatchObject({ users: SENDERS, conversations: 1 + SENDERS, messages: acked.length });
    }, 60_000);
  });
}

describe('export on SQLite', () => {
  exportCases(sqliteTarget);
});

describe('downloads held open by their readers', () => {
  it(`streams ${EXPORTS_AT_ONCE} at once per node: one more is 503 EXPORTS_BUSY (Retry-After 60), a second of one user 429, and a slot that frees lets the next one through`, async () => {
    const dataDir = scratchDir('parley-exports-held-');
    let server = await startTestServer({ dataDir });
    const people: Awaited<ReturnType<typeof registerUser>>[] = [];
    for (let i = 0; i <= EXPORTS_AT_ONCE; i++) people.push(await registerUser(server.url, `reader${i}`));
    await server.close();
    // Each export must outgrow what the kernel's socket buffers take from a reader that reads
    // nothing (a few megabytes): 8 MB of world messages per person, written straight into the file.
    const db = new Database(join(dataDir, 'parley.sqlite'));
    const text = 'x'.repeat(4000);
    db.transaction(() => {
      let seq = (db.prepare("SELECT last_seq AS seq FROM conversations WHERE id = 'world'").get() as { seq: number }).seq;
      const insert = db.prepare("INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ('world', ?, ?, ?, ?, ?)");
      for (const person of people) for (let i = 0; i < 2000; i++) insert.run(++seq, person.user.id, `bulk-${i}`, text, Date.now());
      db.prepare("UPDATE conversations SET last_seq = ? WHERE id = 'world'").run(seq);
    })();
    db.close();
    server = await startTestServer({ dataDir });
    const held: Socket[] = [];
    try {
      // Each reader reads the status line, then stops reading: its export waits, snapshot open.
      for (const person of people.slice(0, EXPORTS_AT_ONCE)) held.push(await holdExport(server.port, person.token));
      const refused = await fetch(`${server.url}/api/me/export`, { headers: { authorization: `Bearer ${people[EXPORTS_AT_ONCE]!.token}` } });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('EXPORTS_BUSY');
      const again = await fetch(`${server.url}/api/me/export`, { headers: { authorization: `Bearer ${people[0]!.token}` } });
      expect(again.status).toBe(429);
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');

      held.shift()!.destroy();
      let response: Response | undefined;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
        response = await fetch(`${server.url}/api/me/export`, { headers: { authorization: `Bearer ${people[EXPORTS_AT_ONCE]!.token}` } });
        if (response.status !== 503) break;
        await response.body?.cancel();
      }
      expect(response!.status).toBe(200);
      const lines = records(await response!.text());
      expect(lines.at(-1)).toMatchObject({ type: 'end' });
      expect(ofType(lines, 'message')).toHaveLength(2000);
    } finally {
      for (const socket of held) socket.destroy();
      await server.close();
    }
  }, 120_000);
});

/** Asks for an export over a plain socket, reads up to the status line, and stops reading. */
async function holdExport(port: number, token: string): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET /api/me/export HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  const head = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1', 0, 12))));
  socket.pause();
  expect(head).toBe('HTTP/1.1 200');
  return socket;
}

describe.runIf(hasPostgres)('export on PostgreSQL', () => {
  const postgres = privatePostgres();

  exportCases(postgresTarget(postgres));

  it('refuses a database without Parley tables, saying so', async () => {
    const exported = await parley(['export', '--database', await postgres().createDatabase()]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/^parley: Cannot export the PostgreSQL database postgres:\/\/parley@127\.0\.0\.1:\d+\/\w+: it holds no Parley tables/);
    expect(exported.stdout).toBe('');
  }, 60_000);

  describe('holds what SQLite holds', () => {
    const TIMES = new Set(['createdAt', 'ts', 'joinedAt', 'exportedAt', 'offeredAt', 'decidedAt', 'completedAt', 'deliveredAt', 'expiresAt']);

    /** The same people doing the same things on `url`'s server: DMs, rooms (one alice is not in), a file offer. */
    async function converse(url: string): Promise<{ aliceToken: string }> {
      const { alice, bob, carol, conv } = await threeUsers(url);
      const rooms = (user: { api: ParleyApi }) => new RoomApi(user.api);
      await alice.api.send(WORLD, 'hello world, alice here', 'a1');
      await carol.api.send(WORLD, 'carol in the world chat', 'c1');
      await alice.api.send(conv, 'bob, a secret for you', 'a2');
      await bob.api.send(conv, 'thanks alice', 'b1');
      await bob.api.send(dmId(bob.user.id, carol.user.id), 'bob to carol only', 'b2');
      const plans = await rooms(alice).create({ name: 'plans', visibility: 'public', topic: 'what we do next' });
      await rooms(bob).join(plans.id);
      await alice.api.send(plans.id, 'welcome, bob', 'a3');
      await rooms(alice).update(plans.id, { topic: 'what we do now' });
      // Apart in time, so that the rooms' order (by creation time, then id) does not hang on their random ids.
      await sleep(5);
      const secret = await rooms(carol).create({ name: 'secret', visibility: 'private' });
      await carol.api.send(secret.id, 'carol alone', 'c2');
      const minutes = Buffer.from('the minutes\n');
      await alice.files.offer({ conv, clientId: 'f1', name: 'minutes.txt', size: minutes.length, sha256: sha256(minutes), type: 'text/plain' });
      return { aliceToken: alice.token! };
    }

    /**
     * Times (which differ run to run) as "time", rooms' and files' random ids as their names wherever
     * they occur, and the random client ids the server gives system messages as "sys-". The order of
     * the records is left as it is.
     */
    function normalized(ndjson: string): ExportRecord[] {
      let text = ndjson;
      for (const record of records(ndjson)) {
        if ((record.type === 'conversation' && record.kind === 'room') || record.type === 'file') {
          text = text.replaceAll(String(record.id), `${record.type}:${String(record.name)}`);
        }
      }
      const times = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(times);
        if (value === null || typeof value !== 'object') return value;
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, TIMES.has(key) && inner !== null ? 'time' : times(inner)]));
      };
      text = text.replace(/"clientId":"sys-[^"]*"/g, '"clientId":"sys-"');
      return records(text).map((record) => times(record) as ExportRecord);
    }

    /** Messages come by conversation id in byte order, then seq: with room ids replaced by names, sorted again the same way. */
    function messagesInOrder(lines: ExportRecord[]): ExportRecord[] {
      const key = (record: ExportRecord) => [Buffer.from(String(record.conv)), record.seq as number] as const;
      return [...ofType(lines, 'message')].sort((a, b) => Buffer.compare(key(a)[0], key(b)[0]) || key(a)[1] - key(b)[1]);
    }

    let sqlite: ExportTarget;
    let postgresServer: ExportTarget;
    const tokens = new Map<ExportTarget, string>();
    beforeAll(async () => {
      [sqlite, postgresServer] = await Promise.all([sqliteTarget(), postgresTarget(postgres)()]);
      for (const target of [sqlite, postgresServer]) tokens.set(target, (await converse(target.server.url)).aliceToken);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([sqlite?.close(), postgresServer?.close()]);
    });

    async function userExport(target: ExportTarget): Promise<string> {
      const response = await fetch(`${target.server.url}/api/me/export`, { headers: { authorization: `Bearer ${tokens.get(target)}` } });
      expect(response.status).toBe(200);
      return response.text();
    }

    it("a user's export: the same records, fields and order", async () => {
      const [fromSqlite, fromPostgres] = await Promise.all([userExport(sqlite), userExport(postgresServer)]);
      const expected = normalized(fromSqlite);
      // What the SQLite export holds is what the user may see: so the PostgreSQL one holds nothing more.
      expect(ofType(expected, 'conversation').map((c) => c.id)).toEqual([WORLD, 'dm:1:2', 'conversation:plans']);
      expect(ofType(expected, 'message').map((m) => m.text)).not.toContain('carol alone');
      expect(ofType(expected, 'file')).toHaveLength(1);
      expect(fromPostgres).not.toMatch(/password|\$argon2/);
      expect(normalized(fromPostgres)).toEqual(expected);
    });

    it('the server export: the same records, fields and order', async () => {
      const [fromSqlite, fromPostgres] = await Promise.all([parley(sqlite.exportArgs), parley(postgresServer.exportArgs)]);
      expect(fromSqlite.code, fromSqlite.stderr).toBe(0);
      expect(fromPostgres.code, fromPostgres.stderr).toBe(0);
      const [expected, actual] = [normalized(fromSqlite.stdout), normalized(fromPostgres.stdout)];
      expect(ofType(expected, 'conversation')).toHaveLength(5);
      // The two rooms' random ids order their messages differently on each server: compared in one order.
      const withoutMessages = (lines: ExportRecord[]) => lines.filter((record) => record.type !== 'message');
      expect(withoutMessages(actual)).toEqual(withoutMessages(expected));
      expect(messagesInOrder(actual)).toEqual(messagesInOrder(expected));
      const raw = records(fromPostgres.stdout);
      expect(ofType(raw, 'message')).toEqual(messagesInOrder(raw));
      expect(actual.findIndex((record) => record.type === 'message')).toBe(expected.findIndex((record) => record.type === 'message'));
    }, 60_000);
  });
});
