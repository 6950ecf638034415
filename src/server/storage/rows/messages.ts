import type { Message, SystemEvent } from '../../../protocol/index.ts';
import { FILE_COLUMNS, FILE_JOIN, toFileCard, type FileRow } from './files.ts';

/*
 * A message's row, shared by both SQL adapters (sqlite/, postgres/): both databases have the same
 * `messages` columns and return them under these names, so the select and the mapping are written
 * once. MESSAGE_COLUMNS holds no placeholder: each adapter appends its own WHERE (`?` or `$1`).
 */

export interface MessageRow extends FileRow {
  conv_id: string;
  seq: number;
  ts: number;
  sender_id: number;
  sender_name: string;
  client_id: string;
  text: string;
  system: string | null;
}

// An offer message carries its file card, joined on (conv_id, seq): one index lookup per row.
export const MESSAGE_COLUMNS = `m.conv_id, m.seq, m.ts, m.sender_id, u.name AS sender_name, m.client_id, m.text, m.system, ${FILE_COLUMNS}
  FROM messages m JOIN users u ON u.id = m.sender_id ${FILE_JOIN}`;

export function toMessage(row: MessageRow): Message {
  const message: Message = {
    conv: row.conv_id,
    seq: row.seq,
    ts: row.ts,
    sender: { id: row.sender_id, name: row.sender_name },
    clientId: row.client_id,
    text: row.text,
  };
  if (row.file_id !== null) message.file = toFileCard(row);
  if (row.system !== null) message.system = JSON.parse(row.system) as SystemEvent;
  return message;
}
