import { describe, expect, it } from 'vitest';
import type { FileCard, Message } from '../../protocol/index.ts';
import { decodeEvents, encodeEvents, encodeResync } from './event-codec.ts';
import { EVERYONE, usersAudience, type DomainEvent } from './events.ts';

const alice = { id: 1, name: 'alice' };
const bob = { id: 2, name: '鲍勃' };
const card: FileCard = {
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  conv: 'dm:1:2',
  seq: 7,
  from: alice,
  to: bob,
  name: 'résumé 📄.pdf',
  size: 2 ** 40,
  type: 'application/pdf',
  sha256: 'a'.repeat(64),
  state: 'failed',
  received: 12,
  error: 'UPLOAD_EXPIRED' as FileCard['error'],
  offeredAt: 1_700_000_000_000,
  decidedAt: 1_700_000_000_001,
  rev: 41,
};
const message: Message = { conv: 'room:AAAAAAAAAAAA', seq: 3, ts: 1_700_000_000_123, sender: alice, clientId: 'c-1', text: 'hello 世界 👋\n"quoted" \\ back', system: { kind: 'role', user: bob, role: 'admin' } };

/** One of every kind: a new kind of event fails to compile here until it has a sample. */
const samples: { [K in DomainEvent['type']]: Extract<DomainEvent, { type: K }> } = {
  message: { type: 'message', conv: message.conv, seq: 3, convKind: 'room', audience: usersAudience([1, 2, 2]), message },
  membership: {
    type: 'membership',
    rev: 9,
    conv: message.conv,
    convKind: 'room',
    audience: usersAudience([1, 2]),
    user: bob,
    role: null,
    memberCount: 1,
    by: alice,
    summary: { id: message.conv, kind: 'room', room: { id: message.conv, name: 'r', topic: '', visibility: 'private', memberCount: 1, rev: 9 }, role: 'member', lastSeq: 3, readSeq: 0, unread: 2, last: { ...message, file: card } },
  },
  room: { type: 'room', rev: 10, audience: EVERYONE, room: { id: message.conv, name: 'r2', topic: 't', visibility: 'public', memberCount: 2, rev: 10 } },
  file: { type: 'file', rev: 41, audience: usersAudience([1, 2]), file: card },
  fileProgress: { type: 'fileProgress', audience: usersAudience([1, 2]), id: card.id, conv: card.conv, received: 2 ** 33 + 1, size: 2 ** 40 },
  read: { type: 'read', audience: usersAudience([2]), conv: 'world', seq: 100, unread: 0 },
  presence: { type: 'presence', audience: EVERYONE, changes: [{ user: alice, online: true }, { user: bob, online: false }] },
  sessionEnded: { type: 'sessionEnded', sessionKey: 'k'.repeat(43), reason: 'logged out' },
  allSessionsEnded: { type: 'allSessionsEnded', userId: 2, reason: 'password changed', except: 'k'.repeat(64) },
};

/** Whether `value` is made only of what JSON carries unchanged. */
function plainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(plainJson);
  if (typeof value === 'object') return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(plainJson);
  return false;
}

describe('the event codec between nodes', () => {
  for (const [type, event] of Object.entries(samples)) {
    it(`carries a ${type} event unchanged, with the node that published it`, () => {
      expect(plainJson(event)).toBe(true);
      const decoded = decodeEvents(encodeEvents('node-a', [event]));
      expect(decoded).toStrictEqual({ node: 'node-a', events: [event] });
    });
  }

  it('carries the events of one turn in one envelope, in the order they were published', () => {
    const all = Object.values(samples);
    expect(decodeEvents(encodeEvents('node-b', all))).toStrictEqual({ node: 'node-b', events: all });
  });

  it('reads the one-event envelope and the resync notice of the version before (nodes of both versions run side by side during an upgrade)', () => {
    const read = samples.read;
    expect(decodeEvents(JSON.stringify({ v: 1, node: 'old', event: read }))).toStrictEqual({ node: 'old', events: [read] });
    expect(decodeEvents(JSON.stringify({ v: 1, node: 'old', resync: { since: 5, rev: null } }))).toStrictEqual({ node: 'old', resync: { since: 5, rev: null } });
  });

  it('finds a Set, a Buffer or a Date in an event not plain (they would not survive the trip)', () => {
    expect(plainJson({ users: new Set([1]) })).toBe(false);
    expect(plainJson({ bytes: Buffer.from('x') })).toBe(false);
    expect(plainJson({ at: new Date() })).toBe(false);
  });

  it('carries a resync notice (a node could not publish since a time), and nothing that only looks like one', () => {
    for (const gap of [{ since: 1_700_000_000_123, rev: 42 }, { since: 1_700_000_000_123, rev: null }]) {
      expect(decodeEvents(encodeResync('node-a', gap))).toStrictEqual({ node: 'node-a', resync: gap });
    }
    for (const text of ['{"v":2,"node":"a","resync":{}}', '{"v":2,"node":"a","resync":{"since":"1","rev":null}}', '{"v":2,"node":"a","resync":{"since":1}}', '{"v":2,"node":"a","resync":{"since":1,"rev":1.5}}', '{"v":3,"node":"a","resync":{"since":1,"rev":null}}', '{"v":2,"resync":{"since":1,"rev":null}}']) {
      expect(decodeEvents(text)).toBeNull();
    }
  });

  it('drops what is not an envelope of this version', () => {
    for (const text of [
      '', 'not json', 'null', '[]',
      '{"v":3,"node":"a","events":[{"type":"read"}]}', '{"v":2,"node":"a","event":{"type":"read"}}', '{"v":2,"node":"a","events":[{"type":"read"},{}]}',
      '{"v":1,"node":"a"}', '{"v":1,"node":1,"event":{"type":"read"}}', '{"v":1,"node":"a","event":{}}',
    ]) {
      expect(decodeEvents(text)).toBeNull();
    }
  });
});
