import type { Page } from 'playwright-core';
import { RoomApi } from '../../src/client/rooms.ts';
import { connect, registerUser, type Client } from '../../test/support/clients.ts';
import { DESKTOP, PHONE, authenticate, openApp, until, waitForMessage, waitOnline } from '../../test/e2e/support/browser.ts';
import { useLanguage, type Language, type Scene } from '../stage.ts';

const PASSWORD = 'correct horse battery';
const NAMES = ['alice', 'bob', '陈静', 'emma', 'dmitri', 'bea', 'boris'] as const;
type Name = (typeof NAMES)[number];

const BOOK_CLUB = 'Book club 读书会';
const LAST_WORDS = 'See you all on Thursday 👋';

/**
 * Rooms seen by alice, a class's teacher: the sidebar with rooms and their unread badges, a
 * private room with its members panel (who is online, owner and admin), the room's history
 * with its system lines, the New room dialog with names being completed, the room directory,
 * the room settings, people search; and bob's side when he is removed. Desktop and phone,
 * light and dark, Chinese and English.
 */
export const roomsScene: Scene = {
  name: 'rooms',
  async run({ server, browser, shoot }) {
    const users = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await registerUser(server.url, name, PASSWORD)] as const)));
    const rooms = (name: Name) => new RoomApi(users[name]!.api);
    const id = (name: Name) => users[name]!.user.id;
    const live: Client[] = [];
    for (const name of ['bob', '陈静', 'emma', 'bea'] as const) live.push(await connect(users[name]!.api));
    const session = (name: Name) => live.find((client) => client.session.me?.name === name)!.session;

    // A private room alice runs, with a story in its history.
    const club = await rooms('alice').create({ name: 'Book club', topic: 'Chapter 2', visibility: 'private', invite: [id('bob'), id('陈静'), id('dmitri')] });
    await rooms('alice').setRole(club.id, id('陈静'), 'admin');
    await session('bob').send(club.id, 'Finished chapter 2 last night. That ending!');
    await session('陈静').send(club.id, '我也读完了，最后一段太精彩了 😮');
    await rooms('陈静').update(club.id, { name: BOOK_CLUB, topic: 'Chapter 3 this week · 本周读第三章' });
    await rooms('alice').invite(club.id, [id('emma')]);
    await session('emma').send(club.id, 'Thanks for the invite! Can I join in from chapter 3?');
    await users.alice!.api.send(club.id, 'Of course — welcome, emma!');
    await session('bob').send(club.id, 'I’ll bring snacks 🍪');
    await session('陈静').send(club.id, LAST_WORDS);

    // Public rooms: two alice is in (one with unread messages), and more in the directory.
    const lab = await rooms('emma').create({ name: 'Physics lab', topic: 'Saturdays 10:00–14:00, room B12', visibility: 'public' });
    await rooms('alice').join(lab.id);
    await session('emma').send(lab.id, 'The oscilloscopes are back from repair.');
    await session('emma').send(lab.id, 'Who wants to try them first?');
    const chess = await rooms('bob').create({ name: 'Chess 国际象棋', topic: 'Blitz on Fridays', visibility: 'public' });
    await rooms('alice').join(chess.id);
    await session('bob').send(chess.id, 'Rematch on Friday?');
    await rooms('陈静').create({ name: 'Garden club 园艺社', topic: 'Tomatoes, herbs and a small greenhouse', visibility: 'public' });
    await rooms('bea').create({ name: 'Maths olympiad', topic: 'Problems of the week, hints on Sundays', visibility: 'public' });
    await rooms('emma').create({ name: 'Music 音乐', topic: '', visibility: 'public' });

    const desktop = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    const phone = await openApp(browser, server.url, { viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      for (const { page } of [desktop, phone]) {
        await authenticate(page, 'sign-in', 'alice', PASSWORD);
        await waitOnline(page);
      }
      const { page } = desktop;
      const openRoom = async (on: Page, name: string, last: string) => {
        await on.locator('a.conv-item').filter({ has: on.locator('.conv-name', { hasText: name }) }).click();
        await waitForMessage(on, last);
      };
      await openRoom(page, BOOK_CLUB, LAST_WORDS);
      await page.getByTestId('members-toggle').click();
      await until(async () => (await page.locator('[data-testid="members-panel"] li.member').count()) === 5, 'five members in the panel');
      await page.getByTestId('composer').fill('Chapter 3 starts with a letter — read it twice!');
      await shoot(page, 'rooms-desktop-light-en', 'light', 'en');
      await shoot(page, 'rooms-desktop-dark-zh', 'dark', 'zh-CN');

      // The owner's options for a member, opened under them.
      await page.locator('li.member[data-member="bob"] .member-more').click();
      await shoot(page, 'rooms-desktop-light-en-member-options', 'light', 'en');
      await page.locator('li.member[data-member="bob"] .member-more').click();
      await page.getByTestId('composer').fill('');

      // New room, with a name being completed. The language is switched before a dialog opens
      // (the switch is in the sidebar, which a modal dialog makes inert).
      const newRoom = async (language: Language) => {
        await useLanguage(page, language);
        await page.getByTestId('new-room').click();
        await page.keyboard.type(language === 'en' ? 'Study group' : '学习小组');
        await page.locator('#new-room-topic').fill(language === 'en' ? 'Exam prep, every Tuesday' : '每周二复习备考');
        await page.locator('label.choice').filter({ has: page.locator('input[value="private"]') }).click();
        const invite = page.getByRole('combobox');
        await invite.pressSequentially('emma');
        await until(async () => (await page.getByRole('option').count()) === 1, 'emma offered');
        await invite.press('Enter');
        await invite.pressSequentially('b');
        await until(async () => (await page.getByRole('option').count()) === 3, 'bea, bob and boris offered');
        await invite.press('ArrowDown');
      };
      await newRoom('en');
      await shoot(page, 'rooms-desktop-light-en-new-room', 'light', 'en');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await newRoom('zh-CN');
      await shoot(page, 'rooms-desktop-dark-zh-new-room', 'dark', 'zh-CN');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');

      // The directory of public rooms.
      const directory = async (language: Language) => {
        await useLanguage(page, language);
        await page.getByTestId('browse-rooms').click();
        await until(async () => (await page.locator('.directory-item').count()) === 5, 'five public rooms');
      };
      await directory('en');
      await shoot(page, 'rooms-desktop-dark-en-directory', 'dark', 'en');
      await page.keyboard.press('Escape');
      await directory('zh-CN');
      await shoot(page, 'rooms-desktop-light-zh-directory', 'light', 'zh-CN');
      await page.keyboard.press('Escape');
      await useLanguage(page, 'en');

      // Room settings (alice owns the book club).
      await page.getByTestId('room-settings').click();
      await page.getByRole('dialog').waitFor();
      await shoot(page, 'rooms-desktop-light-en-settings', 'light', 'en');
      await page.keyboard.press('Escape');

      // People search: anyone by the first letters, online or not.
      await page.getByRole('button', { name: 'New message' }).click();
      await page.keyboard.type('b');
      await until(async () => (await page.getByRole('option').count()) === 3, 'three people starting with b');
      await shoot(page, 'rooms-desktop-light-en-people', 'light', 'en');
      await page.keyboard.press('Escape');

      // The phone: the list with rooms, a room, and its members.
      const mobile = phone.page;
      await shoot(mobile, 'rooms-phone-light-zh-list', 'light', 'zh-CN');
      await openRoom(mobile, BOOK_CLUB, LAST_WORDS);
      await shoot(mobile, 'rooms-phone-light-zh-room', 'light', 'zh-CN');
      // The language switch is on the list screen.
      await mobile.getByRole('button', { name: '返回聊天列表' }).click();
      await useLanguage(mobile, 'en');
      await openRoom(mobile, BOOK_CLUB, LAST_WORDS);
      await mobile.getByTestId('members-toggle').click();
      await until(async () => (await mobile.locator('[data-testid="members-panel"] li.member').count()) === 5, 'five members on the phone');
      await shoot(mobile, 'rooms-phone-dark-en-members', 'dark', 'en');
      // New room on a phone: the choices stack, the dialog takes the width.
      await mobile.getByRole('button', { name: 'Close the member list' }).click();
      await mobile.getByRole('button', { name: /^Back to chats/ }).click();
      await mobile.getByTestId('new-room').click();
      await mobile.keyboard.type('Study group');
      await mobile.locator('#new-room-topic').fill('Exam prep, every Tuesday');
      await mobile.getByRole('combobox').pressSequentially('b');
      await until(async () => (await mobile.getByRole('option').count()) === 3, 'three people offered on the phone');
      await shoot(mobile, 'rooms-phone-light-en-new-room', 'light', 'en');
      await mobile.keyboard.press('Escape');
      await mobile.keyboard.press('Escape');

      // bob's side: removed from the book club while reading it.
      const bobView = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
      try {
        await authenticate(bobView.page, 'sign-in', 'bob', PASSWORD);
        await waitOnline(bobView.page);
        await openRoom(bobView.page, BOOK_CLUB, LAST_WORDS);
        await rooms('alice').remove(club.id, id('bob'));
        await bobView.page.locator('.toast.visible').waitFor();
        await shoot(bobView.page, 'rooms-desktop-light-en-removed', 'light', 'en');
      } finally {
        await bobView.context.close();
      }
    } finally {
      await desktop.context.close();
      await phone.context.close();
      for (const client of live) client.close();
    }
  },
};
