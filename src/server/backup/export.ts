/**
 * The data of the whole server (`parley export`) or of one user (`GET /api/me/export`) as
 * NDJSON: one JSON object per line, each with a `type`. Never a password or session hash.
 * docs/DEPLOYMENT.md ("Exporting") documents the records.
 *
 * This file is the one place that says what the records hold and in which order they come; the
 * rows they are made of are read from one consistent snapshot of either database
 * (sqlite-export.ts, postgres-export.ts), with the queries of export-queries.ts.
 *
 * A user's export holds their account and the people they share a direct conversation or room
 * with; the conversations they belong to; every message of their direct conversations and rooms;
 * their own messages in the world chat (the others' posts there are the others' data); and the
 * files they sent or received (metadata, not bytes).
 */
import { parleyVersion } from '../version.ts';

export type ExportScope = { kind: 'server' } | { kind: 'user'; userId: number };

export const EXPORT_FORMAT = 1;

/**
 * Users' exports (`GET /api/me/export`) streaming at once on one node; one more is refused with
 * EXPORTS_BUSY. Each holds a snapshot open for as long as its reader reads (on SQLite the
 * write-ahead log cannot be checkpointed past it; on PostgreSQL it holds a connection of the
 * export pool and vacuum waits for it).
 */
export const EXPORTS_AT_ONCE = 4;

export interface ExportCounts {
  users: number;
  conversations: number;
  messages: number;
  files: number;
}

/** The rows an export is made of, named as the tables name their columns (export-queries.ts). */
export interface UserRow {
  id: number;
  name: string;
  created_at: number;
}

export interface ConversationRow {
  id: string;
  kind: string;
  created_at: number;
  last_seq: number;
  name: string | null;
  topic: string | null;
  visibility: string | null;
  /** A JSON array of `{ user, role, joinedAt, readSeq }`, in user id order (`readSeq` null for others in a user's export). */
  members: string;
}

export interface MessageRow {
  conv_id: string;
  seq: number;
  sender_id: number;
  client_id: string;
  text: string;
  ts: number;
  /** What a system message (a join, a rename) records, as JSON; null for a user's message. */
  system: string | null;
}

export interface FileRow {
  id: string;
  conv_id: string;
  seq: number;
  sender_id: number;
  recipient_id: number;
  name: string;
  size: number;
  type: string;
  sha256: string;
  state: string;
  received: number;
  error: string | null;
  offered_at: number;
  decided_at: number | null;
  completed_at: number | null;
  delivered_at: number | null;
  expires_at: number | null;
}

type Rows<R> = Iterable<R> | AsyncIterable<R>;

/**
 * One database as one consistent snapshot, opened for one scope. Each method streams its rows in
 * the export's order; they are called one after the other, each once. `close` ends the snapshot,
 * also when the export stops half way (its reader went away).
 */
export interface ExportSnapshot {
  users(): Rows<UserRow>;
  conversations(): Rows<ConversationRow>;
  messages(): Rows<MessageRow>;
  files(): Rows<FileRow>;
  close(): Promise<void>;
}

/** Opens a snapshot; fails (before any line is written) if the database cannot be read. */
export type OpenExportSnapshot = (scope: ExportScope) => Promise<ExportSnapshot>;

const line = (record: object) => `${JSON.stringify(record)}\n`;

/**
 * The export, line by line. Lazy: a slow reader holds the snapshot open, not the whole export
 * in memory. Ends with an `end` record whose counts let a reader check it got everything.
 */
export async function* exportLines(open: OpenExportSnapshot, scope: ExportScope, now = new Date()): AsyncGenerator<string> {
  // Opened before the first line: a database that cannot be read is an error response, not a cut download.
  const snapshot = await open(scope);
  try {
    const counts: ExportCounts = { users: 0, conversations: 0, messages: 0, files: 0 };
    yield line({ type: 'export', format: EXPORT_FORMAT, scope: scope.kind, parley: parleyVersion(), exportedAt: now.toISOString() });
    for await (const row of snapshot.users()) {
      counts.users++;
      yield line({ type: 'user', id: row.id, name: row.name, createdAt: row.created_at });
    }
    for await (const row of snapshot.conversations()) {
      counts.conversations++;
      const room = row.kind === 'room' ? { name: row.name, topic: row.topic, visibility: row.visibility } : {};
      yield line({ type: 'conversation', id: row.id, kind: row.kind, ...room, createdAt: row.created_at, lastSeq: row.last_seq, members: JSON.parse(row.members) as unknown });
    }
    for await (const row of snapshot.messages()) {
      counts.messages++;
      // A system message (a join, a rename) carries what happened as JSON.
      const system = row.system === null || row.system === undefined ? {} : { system: JSON.parse(row.system) as unknown };
      yield line({ type: 'message', conv: row.conv_id, seq: row.seq, sender: row.sender_id, clientId: row.client_id, text: row.text, ts: row.ts, ...system });
    }
    for await (const row of snapshot.files()) {
      counts.files++;
      yield line({
        type: 'file',
        id: row.id,
        conv: row.conv_id,
        seq: row.seq,
        sender: row.sender_id,
        recipient: row.recipient_id,
        name: row.name,
        size: row.size,
        mediaType: row.type,
        sha256: row.sha256,
        state: row.state,
        received: row.received,
        error: row.error,
        offeredAt: row.offered_at,
        decidedAt: row.decided_at,
        completedAt: row.completed_at,
        deliveredAt: row.delivered_at,
        expiresAt: row.expires_at,
      });
    }
    yield line({ type: 'end', counts });
  } finally {
    await snapshot.close();
  }
}
