import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../protocol/frames.ts';

// i18n reads the browser's languages when it loads; this runs in Node.
vi.stubGlobal('navigator', { languages: ['en-US'], language: 'en-US' });
let lib: typeof import('./announcements.ts');
beforeAll(async () => {
  lib = await import('./announcements.ts');
});

const ME = { id: 1, name: 'alice' };
const BOB = { id: 2, name: 'bob' };
const CAROL = { id: 3, name: 'carol' };
let seq = 0;
const message = (conv: string, sender: { id: number; name: string }, text: string, change: Partial<Message> = {}): Message => ({
  conv,
  seq: ++seq,
  ts: 1_000 + seq,
  sender,
  clientId: `c${seq}`,
  text,
  ...change,
});
const ROOM = 'room:Q3vX9kLm2Pa7';
const names: Record<string, string> = { world: 'World chat', 'dm:1:2': 'bob', 'dm:1:3': 'carol', [ROOM]: 'Book club' };
const listener = (viewing: string | null) => ({ me: ME, viewing, nameOf: (conv: string) => names[conv]! });

describe('what a screen reader is told about arriving messages', () => {
  it('reads a message from someone else in the open conversation with its author', () => {
    expect(lib.announcementsFor([message('world', BOB, 'Morning all!')], listener('world'))).toEqual(['bob: Morning all!']);
  });

  it('says nothing of your own messages, nor of world chat messages while another conversation is open', () => {
    expect(lib.announcementsFor([message('world', ME, 'hi'), message('world', BOB, 'hello everyone')], listener('dm:1:3'))).toEqual([]);
  });

  it('tells of a direct message in another conversation, naming it as one', () => {
    expect(lib.announcementsFor([message('dm:1:3', CAROL, 'are you there?')], listener('world'))).toEqual(['Direct message from carol: are you there?']);
  });

  it('tells of a world chat message that mentions you while you are elsewhere', () => {
    expect(lib.announcementsFor([message('world', BOB, 'thanks @Alice.')], listener('dm:1:3'))).toEqual(['bob mentioned you in the world chat: thanks @Alice.']);
  });

  it('turns more than three messages from one conversation into a count, and keeps the others apart', () => {
    const burst = [1, 2, 3, 4].map((n) => message('world', BOB, `line ${n}`));
    expect(lib.announcementsFor([...burst, message('dm:1:3', CAROL, 'ping')], listener('world'))).toEqual(['4 new messages in World chat', 'Direct message from carol: ping']);
    expect(lib.announcementsFor(burst.slice(0, 3), listener('world'))).toHaveLength(3);
  });

  it('reads a file offer by its name, and cuts a long text at 200 characters', () => {
    const file = { name: 'report.pdf' } as Message['file'];
    expect(lib.announcementsFor([message('dm:1:2', BOB, '', { file })], listener('dm:1:2'))).toEqual(['bob: [File] report.pdf']);
    const [long] = lib.announcementsFor([message('dm:1:2', BOB, 'x'.repeat(500))], listener('dm:1:2'));
    expect(long).toBe(`bob: ${'x'.repeat(200)}…`);
  });
});

describe('what a screen reader is told about rooms', () => {
  it('says nothing of a room’s messages while elsewhere, unless they mention you; then it names the room', () => {
    expect(lib.announcementsFor([message(ROOM, BOB, 'chapter 3 tonight')], listener('world'))).toEqual([]);
    expect(lib.announcementsFor([message(ROOM, BOB, '@alice are you in?')], listener('world'))).toEqual(['bob mentioned you in Book club: @alice are you in?']);
  });

  it('reads a change of the open room in words, and tells you elsewhere only that you were added', () => {
    const invitedCarol = message(ROOM, BOB, 'bob invited carol', { system: { kind: 'invited', user: CAROL } });
    expect(lib.announcementsFor([invitedCarol], listener(ROOM))).toEqual(['bob invited carol']);
    expect(lib.announcementsFor([invitedCarol], listener('world'))).toEqual([]);
    const invitedMe = message(ROOM, BOB, 'bob invited alice', { system: { kind: 'invited', user: ME } });
    expect(lib.announcementsFor([invitedMe], listener('world'))).toEqual(['bob added you to the room Book club']);
    expect(lib.announcementsFor([invitedMe], listener(ROOM))).toEqual(['bob invited you']);
  });
});

describe('mentions', () => {
  it('finds @name as a word of its own, in any case', () => {
    for (const text of ['@alice hi', 'hi @alice', 'hi @ALICE!', '(@alice)', 'see you, @alice.', '@alice, look']) expect(lib.mentions(text, 'alice'), text).toBe(true);
  });

  it('does not take an e-mail address, a longer name, or the bare name for a mention', () => {
    for (const text of ['mail me at x@alice.org', '@alice_2 hi', '@alice.smith hi', '@alices', 'alice hi', 'a@alice']) expect(lib.mentions(text, 'alice'), text).toBe(false);
  });

  it('matches names with dots and Chinese names literally', () => {
    expect(lib.mentions('hi @a.b', 'a.b')).toBe(true);
    expect(lib.mentions('hi @axb', 'a.b')).toBe(false);
    expect(lib.mentions('你好 @陈静，周六见', '陈静')).toBe(true);
  });
});
