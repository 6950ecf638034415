/**
 * Versioned schema migrations, applied in order inside one transaction each; PRAGMA
 * user_version records how far a database has come. Append, never edit, a migration.
 * A migration that rebuilds a table others refer to runs with foreign keys off (SQLite's
 * documented way to change a table's constraints) and is checked with foreign_key_check before
 * it commits (open-database.ts).
 */
export interface Migration {
  sql: string;
  rebuildsTables?: boolean;
}

export const MIGRATIONS: readonly (string | Migration)[] = [
  `
  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_by_user ON sessions(user_id);
  CREATE TABLE conversations (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('world', 'dm')),
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE memberships (
    user_id  INTEGER NOT NULL REFERENCES users(id),
    conv_id  TEXT    NOT NULL REFERENCES conversations(id),
    read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, conv_id)
  ) WITHOUT ROWID;
  -- (conv_id, seq) is the clustered key: a page of history is one range scan, whatever the length.
  CREATE TABLE messages (
    conv_id   TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    sender_id INTEGER NOT NULL REFERENCES users(id),
    client_id TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    ts        INTEGER NOT NULL,
    PRIMARY KEY (conv_id, seq)
  ) WITHOUT ROWID;
  -- Idempotent sends: a sender's client id is stored once.
  CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_id);
  INSERT INTO conversations (id, kind, last_seq, created_at) VALUES ('world', 'world', 0, 0);
  `,
  // 2: file offers. A card belongs to its offer message, (conv_id, seq); `rev` orders every change.
  `
  CREATE TABLE files (
    id           TEXT    PRIMARY KEY,
    conv_id      TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    sender_id    INTEGER NOT NULL REFERENCES users(id),
    recipient_id INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN
                   ('offered', 'accepted', 'declined', 'cancelled', 'expired', 'completed', 'failed', 'deleted')),
    received     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    offered_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    completed_at INTEGER,
    delivered_at INTEGER,
    expires_at   INTEGER,
    rev          INTEGER NOT NULL UNIQUE
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX files_by_message ON files(conv_id, seq);
  CREATE INDEX files_by_sender ON files(sender_id, rev);
  CREATE INDEX files_by_recipient ON files(recipient_id, rev);
  CREATE INDEX files_expiring ON files(expires_at) WHERE state IN ('offered', 'accepted');
  CREATE INDEX files_completed ON files(completed_at) WHERE state = 'completed';
  `,
  // 3: look-alike names. name_skeleton is the UTS #39 skeleton of the name key (accounts/names.ts);
  // '' marks a user whose key predates NFKC and case folding: Accounts.upgradeNameKeys() recomputes
  // both at start (the rules are in code, not SQL).
  `
  ALTER TABLE users ADD COLUMN name_skeleton TEXT NOT NULL DEFAULT '';
  CREATE INDEX users_by_skeleton ON users(name_skeleton);
  CREATE INDEX users_by_name ON users(name);
  `,
  // 4: rooms. Conversations are data: a kind (now also 'room') and, for rooms, a name, topic and
  // visibility; memberships get a role. The table is rebuilt because SQLite cannot change a CHECK.
  // Existing world and dm:a:b conversations keep their ids and rows; their memberships already exist.
  {
    rebuildsTables: true,
    sql: `
  CREATE TABLE conversations_v3 (
    id           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('world', 'dm', 'room')),
    last_seq     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    name         TEXT,
    name_key     TEXT,
    topic        TEXT    NOT NULL DEFAULT '',
    visibility   TEXT    CHECK (visibility IN ('public', 'private')),
    member_count INTEGER NOT NULL DEFAULT 0,
    rev          INTEGER NOT NULL DEFAULT 0,
    CHECK ((kind = 'room') = (name IS NOT NULL AND name_key IS NOT NULL AND visibility IS NOT NULL))
  ) WITHOUT ROWID;
  INSERT INTO conversations_v3 (id, kind, last_seq, created_at, member_count)
    SELECT c.id, c.kind, c.last_seq, c.created_at, (SELECT count(*) FROM memberships m WHERE m.conv_id = c.id)
    FROM conversations c;
  DROP TABLE conversations;
  ALTER TABLE conversations_v3 RENAME TO conversations;
  CREATE INDEX rooms_directory ON conversations(name_key, id) WHERE kind = 'room' AND visibility = 'public';

  ALTER TABLE memberships ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member'));
  ALTER TABLE memberships ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE memberships ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
  -- The audience of a message is read by conversation, inside the commit.
  CREATE INDEX memberships_by_conv ON memberships(conv_id, user_id);

  -- A system message (a join, a rename…) records what happened as JSON (protocol SystemEvent).
  ALTER TABLE messages ADD COLUMN system TEXT;

  -- One server-wide counter orders every change of state (file cards, rooms, memberships):
  -- its value is the last rev handed out, read and bumped inside the change's transaction.
  CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO counters (name, value) VALUES ('rev', (SELECT coalesce(max(rev), 0) FROM files));
  `,
  },
  // 5: who left or was removed from a room, at which rev and by whom. A departure deletes the
  // membership row, so without it nothing would tell a node that lost the event (a Redis outage)
  // which members to take out of its clients' lists (events/bus-recovery.ts). One row per member
  // and room, the last departure; deleted when they come back.
  `
  CREATE TABLE departures (
    conv_id TEXT    NOT NULL REFERENCES conversations(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    by_id   INTEGER NOT NULL REFERENCES users(id),
    rev     INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX departures_by_user ON departures(user_id, rev);
  `,
];
