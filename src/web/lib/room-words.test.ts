import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../protocol/frames.ts';
import type { SystemEvent } from '../../protocol/rooms.ts';

// i18n reads the browser's languages when it loads; this runs in Node.
vi.stubGlobal('navigator', { languages: ['en-US'], language: 'en-US' });
vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
let words: typeof import('./room-words.ts');
let i18n: typeof import('../i18n/i18n.ts');
beforeAll(async () => {
  words = await import('./room-words.ts');
  i18n = await import('../i18n/i18n.ts');
});

const ALICE = { id: 1, name: 'alice' };
const BOB = { id: 2, name: 'bob' };
const line = (sender: typeof ALICE, system: SystemEvent): Message => ({
  conv: 'room:Q3vX9kLm2Pa7',
  seq: 2,
  ts: 1,
  sender,
  clientId: 'sys-1',
  text: 'the server’s English',
  system,
});

describe('a room’s system lines, in the reader’s words', () => {
  it('names others, and says "you" for the reader, as subject and as object', () => {
    i18n.setLocale('en');
    expect(words.systemLine(line(ALICE, { kind: 'invited', user: BOB }), { id: 9, name: 'carol' })).toBe('alice invited bob');
    expect(words.systemLine(line(ALICE, { kind: 'invited', user: BOB }), ALICE)).toBe('You invited bob');
    expect(words.systemLine(line(ALICE, { kind: 'invited', user: BOB }), BOB)).toBe('alice invited you');
    expect(words.systemLine(line(ALICE, { kind: 'role', user: BOB, role: 'owner' }), BOB)).toBe('You are now the owner');
    expect(words.systemLine(line(ALICE, { kind: 'role', user: BOB, role: 'member' }), ALICE)).toBe('You removed bob as an admin');
  });

  it('says every kind of change in English and in Chinese', () => {
    const events: SystemEvent[] = [
      { kind: 'created', name: 'Book club' },
      { kind: 'joined' },
      { kind: 'left' },
      { kind: 'removed', user: BOB },
      { kind: 'renamed', name: 'Readers', from: 'Book club' },
      { kind: 'topic', topic: 'Chapter 3' },
      { kind: 'topic', topic: '' },
      { kind: 'visibility', visibility: 'public' },
      { kind: 'visibility', visibility: 'private' },
      { kind: 'role', user: BOB, role: 'admin' },
    ];
    const reader = { id: 9, name: 'carol' };
    i18n.setLocale('en');
    expect(events.map((event) => words.systemLine(line(ALICE, event), reader))).toEqual([
      'alice created the room Book club',
      'alice joined',
      'alice left',
      'alice removed bob',
      'alice renamed the room from Book club to Readers',
      'alice set the topic: Chapter 3',
      'alice cleared the topic',
      'alice made the room public',
      'alice made the room private',
      'alice made bob an admin',
    ]);
    i18n.setLocale('zh-CN');
    expect(events.map((event) => words.systemLine(line(ALICE, event), reader))).toEqual([
      'alice 创建了聊天室「Book club」',
      'alice 加入了聊天室',
      'alice 退出了聊天室',
      'alice 将 bob 移出了聊天室',
      'alice 将聊天室名称从「Book club」改为「Readers」',
      'alice 将主题设为：Chapter 3',
      'alice 清除了主题',
      'alice 将聊天室设为公开',
      'alice 将聊天室设为私密',
      'alice 将 bob 设为管理员',
    ]);
    i18n.setLocale('en');
  });

  it('marks the names apart from the words, so they can be shown in bold; a name that looks like a placeholder stays text', () => {
    expect(words.systemParts(line({ id: 3, name: '{user}' }, { kind: 'invited', user: BOB }), ALICE)).toEqual([{ name: '{user}' }, ' invited ', { name: 'bob' }]);
  });

  it('counts members in words: one member, many members', () => {
    expect([words.memberCount(1), words.memberCount(12)]).toEqual(['1 member', '12 members']);
  });
});
