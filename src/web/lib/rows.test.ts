import { describe, expect, it } from 'vitest';
import type { Message } from '../../protocol/index.ts';
import { buildRows, type MessageRow } from './rows.ts';

const ME = { id: 1, name: 'alice' };
const BOB = { id: 2, name: 'bob' };
const CAROL = { id: 3, name: 'carol' };
const T0 = new Date(2026, 0, 5, 12, 0).getTime();
let seq = 0;
const message = (sender: typeof ME, minutes: number, conv = 'room:AAAAAAAAAAAA'): Message => ({ conv, seq: ++seq, ts: T0 + minutes * 60_000, sender, clientId: `c${seq}`, text: `hi ${seq}` });
const named = (rows: ReturnType<typeof buildRows>) => rows.filter((r): r is MessageRow => r.kind === 'message').map((r) => (r.named ? r.sender.name : '-'));

describe('who a bubble is labelled with', () => {
  it('in a direct conversation, never the peer: the pane is headed by their name already', () => {
    const messages = [message(BOB, 0, 'dm:1:2'), message(BOB, 1, 'dm:1:2'), message(ME, 2, 'dm:1:2'), message(BOB, 3, 'dm:1:2'), message(BOB, 30, 'dm:1:2')];
    expect(named(buildRows(messages, [], ME, { direct: true }))).toEqual(['-', '-', '-', '-', '-']);
  });

  it('in a room, once at the start of each run of one sender', () => {
    const messages = [message(BOB, 0), message(BOB, 1), message(CAROL, 2), message(ME, 3), message(BOB, 4), message(BOB, 5), message(BOB, 30)];
    expect(named(buildRows(messages, [], ME))).toEqual(['bob', '-', 'carol', '-', 'bob', '-', 'bob']);
  });
});
