import type { FileCard } from '../../protocol/files.ts';
import type { Message, UserRef } from '../../protocol/index.ts';
import type { Echo } from '../state/timeline.ts';
import { dayKey } from './time.ts';

export interface MessageRow {
  kind: 'message';
  key: string;
  sender: UserRef;
  text: string;
  ts: number;
  own: boolean;
  /** First / last of a run of messages from one sender (avatar and name on the first). */
  first: boolean;
  last: boolean;
  /** The sender's name above the bubble: first of someone else's run, in a room or the world only. */
  named: boolean;
  status: 'sent' | 'sending' | 'failed';
  echo?: Echo;
  /** A file offer: the card as it was when the message was loaded (FileTransfers has the newest). */
  file?: FileCard;
}

/** A change of a room ("alice invited bob"), shown as a line of its own between messages. */
export interface SystemRow {
  kind: 'system';
  key: string;
  ts: number;
  message: Message;
}

export type Row = { kind: 'top'; key: 'top' } | { kind: 'day'; key: string; ts: number } | MessageRow | SystemRow;

/** Messages from one sender within this long of each other form one group. */
const GROUP_GAP_MS = 5 * 60_000;

/**
 * The rows of a message list: a top row (loading or "the beginning"), day separators, and
 * messages grouped by sender. Keys use sender and client id, so an echo keeps its row (and its
 * measured height) when the server confirms it.
 */
export function buildRows(messages: readonly Message[], echoes: readonly Echo[], me: UserRef, { direct = false } = {}): Row[] {
  const rows: Row[] = [{ kind: 'top', key: 'top' }];
  const items: (Omit<MessageRow, 'first' | 'last' | 'named'> | SystemRow)[] = [];
  for (const m of messages) {
    if (m.system) {
      items.push({ kind: 'system', key: `${m.sender.id}:${m.clientId}`, ts: m.ts, message: m });
      continue;
    }
    items.push({ kind: 'message', key: `${m.sender.id}:${m.clientId}`, sender: m.sender, text: m.text, ts: m.ts, own: m.sender.id === me.id, status: 'sent', ...(m.file ? { file: m.file } : {}) });
  }
  for (const echo of echoes) {
    items.push({ kind: 'message', key: `${me.id}:${echo.clientId}`, sender: me, text: echo.text, ts: echo.ts, own: true, status: echo.status, echo });
  }
  let previousDay = '';
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const before = items[i - 1];
    const after = items[i + 1];
    const day = dayKey(item.ts);
    if (day !== previousDay) {
      rows.push({ kind: 'day', key: `day:${day}`, ts: item.ts });
      previousDay = day;
    }
    if (item.kind === 'system') {
      rows.push(item);
      continue;
    }
    const first = !continues(before, item);
    // In a direct conversation every message not yours is the peer's, whose name heads the pane.
    rows.push({ ...item, first, last: !continues(item, after), named: first && !item.own && !direct });
  }
  return rows;
}

/** Whether b goes on a's run; a system line between them ends it. */
function continues(a: { kind: string; sender?: UserRef; ts: number } | undefined, b: { kind: string; sender?: UserRef; ts: number } | undefined): boolean {
  return !!a && !!b && a.kind === 'message' && b.kind === 'message' && a.sender!.id === b.sender!.id && b.ts - a.ts < GROUP_GAP_MS && dayKey(a.ts) === dayKey(b.ts);
}
