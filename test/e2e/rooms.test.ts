import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomApi } from '../../src/client/rooms.ts';
import { connect, registerUser, type Client } from '../support/clients.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import {
  PHONE,
  authenticate,
  close,
  conversationLink,
  hasChromium,
  messageTexts,
  openApp,
  send,
  signUp,
  unreadBadge,
  until,
  waitForMessage,
  waitOnline,
  type Person,
} from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/** The room lines of the open conversation ("You invited bob"), in order. */
async function systemTexts(page: Page): Promise<string[]> {
  return page.getByTestId('system-text').evaluateAll((nodes) => nodes.map((node) => (node as HTMLElement).innerText.trim()));
}

async function waitForSystemText(page: Page, text: string): Promise<void> {
  await until(async () => (await systemTexts(page)).includes(text), `the line ${JSON.stringify(text)}`);
}

const title = (page: Page) => page.getByTestId('chat-title').textContent();

/** The sidebar entry of the room called `name`. */
const roomLink = (page: Page, name: string) => page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: new RegExp(`^${name}$`) }) });

/** The names in one group of the members panel ("online" or "offline"). */
async function membersShown(page: Page, online: boolean): Promise<string[]> {
  return page.locator(`[data-testid="members-panel"] li.member[data-online="${online ? 'yes' : 'no'}"]`).evaluateAll((nodes) => nodes.map((node) => (node as HTMLElement).dataset.member!));
}

async function signIn(browser: Browser, url: string, name: string, options: Parameters<typeof openApp>[2] = {}): Promise<Person> {
  const opened = await openApp(browser, url, options);
  await authenticate(opened.page, 'sign-in', name, PASSWORD);
  await waitOnline(opened.page);
  return { name, ...opened };
}

/** Registers through the API, with the room calls at hand. */
async function person(url: string, name: string) {
  const registered = await registerUser(url, name, PASSWORD);
  return { ...registered, rooms: new RoomApi(registered.api) };
}

const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');
const focusedTestId = (page: Page) => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? '');

describe.skipIf(!hasChromium)('rooms in the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('alice creates a private room and invites bob by typing the first letters of his name; bob sees it with an unread badge and replies', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      [alice, bob] = await Promise.all([signUp(browser, server.url, 'alice', PASSWORD), signUp(browser, server.url, 'bob', PASSWORD)]);
      // Someone else whose name starts the same way, and who has never been online.
      const bobby = await registerUser(server.url, 'bobby', PASSWORD);

      const newRoom = alice.page.getByTestId('new-room');
      await newRoom.click();
      const dialog = alice.page.getByRole('dialog', { name: 'Create a room' });
      // The focus starts in the name field.
      expect(await alice.page.evaluate(() => document.activeElement?.id)).toBe('new-room-name');
      await alice.page.keyboard.type('Book club 读书会');
      await dialog.getByLabel('Topic (optional)').fill('Chapter 3 this week');
      await dialog.getByText('Private', { exact: true }).click();
      const invite = dialog.getByRole('combobox', { name: 'Invite people (optional)' });
      await invite.pressSequentially('bo');
      const options = dialog.getByRole('option');
      const offered = () => options.evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.person).join());
      await until(async () => (await offered()) === 'bob,bobby', 'bob and bobby offered');
      // The first Escape closes the list, not the dialog.
      await invite.press('Escape');
      expect(await options.count()).toBe(0);
      expect(await dialog.isVisible()).toBe(true);
      await invite.pressSequentially('bo');
      await until(async () => (await offered()) === 'bob,bobby', 'bob and bobby offered again');
      expect(await dialog.locator('[role="option"][data-person="bobby"]').textContent()).toContain('offline');
      await invite.press('ArrowDown');
      expect(await invite.getAttribute('aria-activedescendant')).toMatch(/-option-\d+$/);
      await invite.press('Enter');
      await until(async () => (await dialog.locator('.chip').count()) === 1, 'bob picked');
      expect(await dialog.locator('.chip').getAttribute('data-person')).toBe('bob');
      // Enter picked bob and did not submit the form: the dialog is still open.
      expect(await dialog.isVisible()).toBe(true);
      await dialog.getByTestId('create-room').click();

      await until(async () => (await title(alice!.page)) === 'Book club 读书会', 'the room to open for alice');
      expect(await dialog.count()).toBe(0);
      await waitForSystemText(alice.page, 'You invited bob');
      expect(await systemTexts(alice.page)).toEqual(['You created the room Book club 读书会', 'You invited bob']);
      expect(await alice.page.getByTestId('room-subtitle').textContent()).toBe('Private room · 2 members · Chapter 3 this week');
      const conv = (await alice.page.evaluate(() => decodeURIComponent(location.hash))).replace('#/c/', '');
      expect(conv).toMatch(/^room:[A-Za-z0-9]{12}$/);
      await send(alice.page, 'Welcome to the book club!');

      // bob, in the world chat, sees the room appear with an unread badge.
      await until(async () => (await unreadBadge(bob!.page, conv)) === '1', "bob's unread badge on the room");
      expect(await bob.page.title()).toBe('(1) Parley');
      expect(await conversationLink(bob.page, conv).locator('.conv-preview').textContent()).toBe('alice: Welcome to the book club!');
      await conversationLink(bob.page, conv).click();
      await waitForMessage(bob.page, 'Welcome to the book club!');
      expect(await systemTexts(bob.page)).toEqual(['alice created the room Book club 读书会', 'alice invited you']);
      await until(async () => (await unreadBadge(bob!.page, conv)) === null, "bob's badge to clear");
      await send(bob.page, 'Thanks alice, I am in 📚');
      await waitForMessage(alice.page, 'Thanks alice, I am in 📚');
      expect(await messageTexts(alice.page)).toEqual(['Welcome to the book club!', 'Thanks alice, I am in 📚']);

      // bobby was offered but not picked: the room is not his to read.
      await expect(bobby.api.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await close(alice, bob);
    }
  });

  it('carol finds a public room in the directory by its first letters and joins it; its history is there, and the members panel shows who is online, live; closed dialogs and the panel give the focus back', async () => {
    const dave = await person(server.url, 'dave');
    const erin = await person(server.url, 'erin');
    const garden = await dave.rooms.create({ name: 'Gardening', topic: 'tomatoes', visibility: 'public' });
    await dave.rooms.create({ name: 'Chess', visibility: 'public' });
    await erin.rooms.join(garden.id);
    await dave.api.send(garden.id, 'The tomatoes are in!');
    const online: Client[] = [await connect(dave.api)];
    let carol: Person | undefined;
    try {
      carol = await signUp(browser, server.url, 'carol', PASSWORD);
      const { page } = carol;
      // From the directory to New room and away: the focus goes back to what opened the first dialog.
      await page.getByTestId('browse-rooms').click();
      await page.getByRole('dialog', { name: 'Browse rooms' }).getByRole('button', { name: 'New room' }).click();
      await page.getByRole('dialog', { name: 'Create a room' }).waitFor();
      expect(await focusedId(page)).toBe('new-room-name');
      await page.keyboard.press('Escape');
      await until(async () => (await page.getByRole('dialog').count()) === 0, 'no dialog open');
      expect(await focusedTestId(page)).toBe('browse-rooms');

      await page.getByTestId('browse-rooms').click();
      const dialog = page.getByRole('dialog', { name: 'Browse rooms' });
      const listed = () => dialog.locator('.directory-item').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.room).join());
      await until(async () => (await listed()) === 'Chess,Gardening', 'both public rooms listed');
      expect(await dialog.locator('[data-room="Gardening"] .directory-meta').textContent()).toBe('2 members');
      await page.keyboard.type('gar');
      await until(async () => (await listed()) === 'Gardening', 'only Gardening for "gar"');
      await dialog.getByRole('button', { name: 'Join Gardening' }).click();

      await until(async () => (await title(page)) === 'Gardening', 'the room to open');
      await waitForMessage(page, 'The tomatoes are in!');
      expect(await systemTexts(page)).toEqual(['dave created the room Gardening', 'erin joined', 'You joined']);
      expect(await page.getByTestId('room-subtitle').textContent()).toBe('Public room · 3 members · tomatoes');
      await send(page, 'Hello gardeners');
      await waitForMessage(page, 'Hello gardeners');
      expect((await dave.api.history(garden.id)).messages.at(-1)!.text).toBe('Hello gardeners');

      // The members panel takes the focus, and shows who is online.
      await page.getByTestId('members-toggle').click();
      expect(await focusedId(page)).toBe('members-title');
      await until(async () => (await membersShown(page, true)).join() === 'carol,dave', 'carol and dave online');
      expect(await membersShown(page, false)).toEqual(['erin']);
      expect(await page.locator('li.member[data-member="dave"] .role-badge').textContent()).toBe('Owner');
      // erin comes online and dave goes: the panel follows.
      online.push(await connect(erin.api));
      await until(async () => (await membersShown(page, true)).join() === 'carol,dave,erin', 'erin online');
      online[0]!.close();
      await until(async () => (await membersShown(page, false)).join() === 'dave', 'dave offline');
      // A plain member sees no options for the owner beyond a message, and no room settings.
      await page.locator('li.member[data-member="dave"] .member-more').click();
      expect(await page.locator('li.member[data-member="dave"] .member-actions button').allTextContents()).toEqual(['Send a message']);
      expect(await page.getByTestId('room-settings').count()).toBe(0);
      // Escape closes the panel and gives the focus back to its button.
      await page.keyboard.press('Escape');
      await until(async () => (await page.getByTestId('members-panel').count()) === 0, 'the panel to close');
      await until(async () => (await focusedTestId(page)) === 'members-toggle', 'the focus back on the Members button');
      expect(await page.getByTestId('members-toggle').getAttribute('aria-expanded')).toBe('false');
    } finally {
      for (const client of online) client.close();
      await close(carol);
    }
  });

  it('a removed member’s room disappears live on each of their tabs, and they are told who removed them', async () => {
    const frank = await person(server.url, 'frank');
    const gina = await person(server.url, 'gina');
    const room = await frank.rooms.create({ name: 'Secret plans', visibility: 'private', invite: [gina.user.id] });
    await frank.api.send(room.id, 'Only for us two');
    let owner: Person | undefined, reading: Person | undefined;
    try {
      owner = await signIn(browser, server.url, 'frank');
      reading = await signIn(browser, server.url, 'gina');
      // gina reads the room in one tab, and has the world chat open in another.
      const other = await reading.context.newPage();
      await other.goto(server.url);
      await waitOnline(other);
      await conversationLink(reading.page, room.id).click();
      await waitForMessage(reading.page, 'Only for us two');

      await conversationLink(owner.page, room.id).click();
      await owner.page.getByTestId('members-toggle').click();
      const row = owner.page.locator('li.member[data-member="gina"]');
      await row.locator('.member-more').click();
      await row.getByRole('button', { name: 'Remove from room' }).click();
      expect(await row.locator('.member-question').textContent()).toBe('Remove gina from Secret plans? They will stop seeing its messages.');
      expect(await owner.page.evaluate(() => document.activeElement?.textContent)).toBe('Remove');
      await owner.page.keyboard.press('Enter');

      for (const page of [reading.page, other]) {
        await until(async () => (await conversationLink(page, room.id).count()) === 0, 'the room to leave the sidebar');
        await until(async () => (await page.getByTestId('removal-notice').textContent()) === 'frank removed you from Secret plans. It is no longer in your list.', 'the notice');
      }
      // The tab that showed the room shows the world chat now, and its address says so.
      await until(async () => (await title(reading!.page)) === 'World chat', 'the world chat');
      // The address follows in an effect after that render, so it is waited for too (a fixed check raced it).
      await until(async () => (await reading!.page.evaluate(() => location.hash)) === '#/', 'the address #/');
      expect(await reading.page.content()).not.toContain('Only for us two');
      await reading.page.getByRole('button', { name: 'Dismiss' }).click();
      expect(await reading.page.getByTestId('removal-notice').textContent()).toBe('');
      await expect(gina.api.history(room.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });

      // The owner's panel and history say the same.
      await until(async () => (await owner!.page.locator('li.member[data-member="gina"]').count()) === 0, 'gina gone from the panel');
      await waitForSystemText(owner.page, 'You removed gina');
      expect(await owner.page.getByTestId('members-panel').locator('.section-count').textContent()).toBe('1');
    } finally {
      await close(owner, reading);
    }
  });

  it('the owner renames the room and sets its topic in its settings; a member reading it in Chinese, on a phone, sees both live', async () => {
    const harry = await person(server.url, 'harry');
    const ivy = await person(server.url, 'ivy');
    const room = await harry.rooms.create({ name: 'Reading', visibility: 'private', invite: [ivy.user.id] });
    await harry.api.send(room.id, 'First message');
    let owner: Person | undefined, member: Person | undefined;
    try {
      owner = await signIn(browser, server.url, 'harry');
      member = await signIn(browser, server.url, 'ivy', { viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true });
      await conversationLink(member.page, room.id).click();
      await waitForMessage(member.page, 'First message');
      expect(await member.page.getByTestId('room-settings').count()).toBe(0);

      await conversationLink(owner.page, room.id).click();
      const settings = owner.page.getByTestId('room-settings');
      // Escape closes the dialog and the focus goes back to the button that opened it.
      await settings.click();
      expect(await focusedId(owner.page)).toBe('room-settings-name');
      await owner.page.keyboard.press('Escape');
      await until(async () => (await owner!.page.getByRole('dialog').count()) === 0, 'the dialog to close');
      expect(await focusedTestId(owner.page)).toBe('room-settings');

      await settings.click();
      const dialog = owner.page.getByRole('dialog', { name: 'Room settings' });
      await dialog.getByLabel('Name').fill('Readers 读者');
      await dialog.getByLabel('Topic (optional)').fill('Chapter 4');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await until(async () => (await owner!.page.getByRole('dialog').count()) === 0, 'the dialog to close after saving');
      await until(async () => (await title(owner!.page)) === 'Readers 读者', 'the new name for harry');

      const phone = member.page;
      await until(async () => (await title(phone)) === 'Readers 读者', 'the new name for ivy');
      await until(async () => (await phone.getByTestId('room-subtitle').textContent()) === '私密聊天室 · 2 位成员 · Chapter 4', 'the topic for ivy');
      await waitForSystemText(phone, 'harry 将主题设为：Chapter 4');
      expect((await systemTexts(phone)).slice(-2)).toEqual(['harry 将聊天室名称从「Reading」改为「Readers 读者」', 'harry 将主题设为：Chapter 4']);

      // On a phone the members panel is a screen over the chat; closing it brings the chat back.
      await phone.getByTestId('members-toggle').click();
      await until(async () => (await membersShown(phone, true)).join() === 'harry,ivy', 'both online');
      const box = await phone.getByTestId('members-panel').boundingBox();
      expect(box).toMatchObject({ x: 0, width: PHONE.width });
      await phone.getByRole('button', { name: '关闭成员列表' }).click();
      await until(async () => (await phone.getByTestId('members-panel').count()) === 0, 'the panel to close');
      expect(await phone.getByTestId('composer').isVisible()).toBe(true);
      // Back on the list, the room has its new name there too.
      await phone.getByRole('button', { name: /^返回聊天列表/ }).click();
      expect(await conversationLink(phone, room.id).locator('.conv-name').textContent()).toBe('Readers 读者');
    } finally {
      await close(owner, member);
    }
  });

  it('people search finds anyone by the first letters of their name, online or not, and opens a direct conversation', async () => {
    await person(server.url, 'kim');
    await person(server.url, 'Kimberly');
    let jack: Person | undefined;
    try {
      jack = await signUp(browser, server.url, 'jack', PASSWORD);
      const { page } = jack;
      const newChat = page.getByRole('button', { name: 'New message' });
      await newChat.click();
      const dialog = page.getByRole('dialog', { name: 'Start a conversation' });
      await page.keyboard.type('zz');
      await until(async () => (await dialog.locator('.picker-empty').textContent()) === 'No one whose name starts with “zz”.', 'no match for zz');
      await page.keyboard.press('Escape');
      await until(async () => (await dialog.count()) === 0, 'Escape to close the dialog');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('New message');

      await newChat.click();
      await page.keyboard.type('KIM');
      const names = () =>
        dialog.getByRole('option').evaluateAll((nodes) => nodes.map((n) => `${(n as HTMLElement).dataset.person} ${n.querySelector('.picker-note')!.textContent}`).join(' | '));
      await until(async () => (await names()) === 'kim offline | Kimberly offline', 'kim and Kimberly, offline');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await until(async () => (await title(page)) === 'Kimberly', 'the conversation with Kimberly');
      await send(page, 'Hi Kimberly');
      await waitForMessage(page, 'Hi Kimberly');
      await until(async () => (await page.locator('a.conv-item[data-conv^="dm:"]').count()) === 1, 'the DM in the sidebar');
    } finally {
      await close(jack);
    }
  });

  it('the owner invites from the members panel, which stays open from room to room, and names an admin; the admin gets the settings live, then leaves after a question', async () => {
    const lena = await person(server.url, 'lena');
    const mona = await person(server.url, 'mona');
    const nils = await person(server.url, 'nils');
    const room = await lena.rooms.create({ name: 'Choir', visibility: 'private', invite: [mona.user.id] });
    let owner: Person | undefined, member: Person | undefined;
    try {
      owner = await signIn(browser, server.url, 'lena');
      member = await signIn(browser, server.url, 'mona');
      const { page } = owner;
      await conversationLink(page, room.id).click();
      await page.getByTestId('members-toggle').click();
      await until(async () => (await membersShown(page, true)).join() === 'lena,mona', 'both online');

      // Invite: someone already in is shown as such and cannot be picked; nils can.
      const inviteButton = page.getByRole('button', { name: 'Invite people' });
      await inviteButton.click();
      const dialog = page.getByRole('dialog', { name: 'Invite people to Choir' });
      expect(await focusedId(page)).toBe('invite-people-input');
      await page.keyboard.type('mo');
      const monaOption = dialog.locator('[role="option"][data-person="mona"]');
      await monaOption.waitFor();
      expect(await monaOption.getAttribute('aria-disabled')).toBe('true');
      expect(await monaOption.locator('.picker-note').textContent()).toBe('already in the room');
      await page.keyboard.press('Enter');
      expect(await dialog.locator('.chip').count()).toBe(0);
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('nils');
      await page.keyboard.press('Enter');
      await until(async () => (await dialog.locator('.chip').count()) === 1, 'nils picked');
      await dialog.getByTestId('send-invites').click();
      await until(async () => (await dialog.count()) === 0, 'the dialog to close');
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Invite people');
      await until(async () => (await membersShown(page, false)).join() === 'nils', 'nils in the panel, offline');
      await waitForSystemText(page, 'You invited nils');
      expect((await nils.api.history(room.id)).messages.map((m) => m.text)).toContain('lena invited nils');

      // Away to the world chat and back: the panel is open again, and the focus is on writing, not on it.
      await conversationLink(page, 'world').click();
      // The click resolves before the world chat renders: wait for it (its title), then the panel must be gone.
      await until(async () => (await title(page)) === 'World chat', 'the world chat');
      expect(await page.getByTestId('members-panel').count()).toBe(0);
      await conversationLink(page, room.id).click();
      await until(async () => (await focusedTestId(page)) === 'composer', 'the focus on the composer');
      expect(await page.getByTestId('members-panel').count()).toBe(1);

      // Make mona an admin: her badge and the line in the history; she gets the settings button live.
      const monaRow = page.locator('li.member[data-member="mona"]');
      await monaRow.locator('.member-more').click();
      await monaRow.getByRole('button', { name: 'Make admin' }).click();
      await until(async () => (await monaRow.locator('.role-badge').textContent().catch(() => null)) === 'Admin', 'the Admin badge');
      await waitForSystemText(page, 'You made mona an admin');
      await conversationLink(member.page, room.id).click();
      await member.page.getByTestId('room-settings').waitFor();

      // mona leaves: a question first, and the room leaves her list without a removal notice.
      await member.page.getByTestId('members-toggle').click();
      await member.page.getByRole('button', { name: 'Leave room' }).click();
      expect(await member.page.locator('#leave-question').textContent()).toBe('Leave Choir? It is private: to come back, someone has to invite you again.');
      expect(await member.page.evaluate(() => document.activeElement?.textContent)).toBe('Leave');
      await member.page.keyboard.press('Enter');
      await until(async () => (await conversationLink(member!.page, room.id).count()) === 0, 'the room to leave her list');
      await until(async () => (await member!.page.evaluate(() => location.hash)) === '#/', 'the address #/');
      expect(await member.page.getByTestId('removal-notice').textContent()).toBe('');
      await until(async () => (await page.locator('li.member[data-member="mona"]').count()) === 0, 'mona gone from the owner’s panel');
      await waitForSystemText(page, 'mona left');
    } finally {
      await close(owner, member);
    }
  });
});
