/**
 * Versioned schema migrations, applied in order inside one transaction each; PRAGMA
 * user_version records how far a database has come. Append, never edit, a migration.
 */
export const MIGRATIONS: readonly string[] = [
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
];
