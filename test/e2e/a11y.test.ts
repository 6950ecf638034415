import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser, type Client } from '../support/clients.ts';
import { offer, patchUpload } from '../support/files.ts';
import type { TestServer } from '../support/server.ts';
import { FileApi } from '../../src/client/files.ts';
import { RoomApi } from '../../src/client/rooms.ts';
import { dmId } from '../../src/protocol/conversations.ts';
import type { FileCard } from '../../src/protocol/files.ts';
import type { ParleyApi } from '../../src/client/api.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { axeAudit, describeFindings, seriousOrCritical } from './support/axe.ts';
import { DESKTOP, PHONE, authenticate, conversationLink, hasChromium, send, until, waitForMessage, waitOnline } from './support/browser.ts';
import { unreliableSends } from './support/unreliable-sends.ts';

const PASSWORD = 'correct horse battery';

/** What the views are built from: a class chat seen by alice, with a DM full of file cards and a room she owns. */
interface Scene {
  url: string;
  /** alice's signed-in browser state (her session cookie), so every view starts from a fresh page. */
  alice: Awaited<ReturnType<BrowserContext['storageState']>>;
  dmWithBob: string;
  /** A private room alice owns, with bob (online), 陈静 (an admin) and emma. */
  room: string;
  aliceId: number;
  /** bob's rooms, to put alice in a room and take her out of it while a view is on screen. */
  bobRooms: RoomApi;
  /** A long DM with emma (online), to scroll up in while she writes more. */
  dmWithEmma: string;
  emma: Awaited<ReturnType<typeof registerUser>>;
  /** The DM with 陈静, where alice offers files that 陈静 accepts through `chenFiles`. */
  dmWithChen: string;
  chenFiles: FileApi;
  /** alice's API, to move part of her held upload to the server as her tab would. */
  aliceApi: ParleyApi;
}

interface View {
  name: string;
  signedIn: boolean;
  scheme?: 'light' | 'dark';
  locale?: 'en-US' | 'zh-CN';
  phone?: boolean;
  /** Brings the page to the state to audit, and waits until it has settled. */
  show: (page: Page, scene: Scene) => Promise<void>;
}

const signInPage = async (page: Page) => {
  await page.locator('#auth-form').waitFor();
};

const conversation = (which: (scene: Scene) => string, lastText: (scene: Scene) => string) => async (page: Page, scene: Scene) => {
  await page.goto(`${scene.url}/#/c/${which(scene)}`);
  await waitOnline(page);
  await waitForMessage(page, lastText(scene));
  await until(async () => (await page.locator('.history-loading').count()) === 0, 'history to load');
};
const WORLD_LAST = 'See you there 🙌';
const DM_LAST = 'Here are the minutes.';
const worldChat = conversation(() => 'world', () => WORLD_LAST);
const dmWithFiles = conversation((scene) => scene.dmWithBob, () => DM_LAST);

/** Your messages in every state: sent, still sending, and not sent (with Retry and Discard). */
const sendStates = async (page: Page, scene: Scene) => {
  await unreliableSends(page.context());
  await page.reload();
  await worldChat(page, scene);
  await send(page, 'hold: on its way');
  await send(page, 'fail: this one did not go');
  await until(async () => (await page.locator('[data-status="failed"]').count()) === 1, 'the failed send');
};

const newChatDialog = async (page: Page, scene: Scene) => {
  await worldChat(page, scene);
  await page.locator('.sidebar-head .icon-button').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('combobox').fill('nobody-by-this-name');
  await until(async () => ((await dialog.locator('.picker-empty').textContent()) ?? '') !== '', 'the "no one found" line');
};

/** The change-password dialog after a wrong current password: its error and the invalid field. */
const changePasswordDialog = async (page: Page, scene: Scene) => {
  await worldChat(page, scene);
  await page.getByTestId('change-password').click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('input[name="current-password"]').fill('not the password');
  await dialog.locator('input[name="new-password"]').fill('a brand new passphrase');
  await dialog.locator('input[name="repeat-password"]').fill('a brand new passphrase');
  await dialog.getByTestId('change-password-submit').click();
  await until(async () => ((await dialog.getByTestId('password-error').textContent()) ?? '') !== '', 'the "wrong current password" error');
};

const ROOM_LAST = 'See you all on Thursday 👋';
const room = conversation((scene) => scene.room, () => ROOM_LAST);
/** The room with its members panel open, and bob's options (message, make admin, remove) shown. */
const roomWithMembers = async (page: Page, scene: Scene) => {
  await room(page, scene);
  await page.getByTestId('members-toggle').click();
  await until(async () => (await page.locator('li.member').count()) === 4, 'the four members');
  await page.locator('li.member[data-member="bob"] .member-more').click();
};
/** The New room dialog, filled in, with people offered for "b" and one picked. */
const newRoomDialog = async (page: Page, scene: Scene) => {
  // On a phone the sidebar is the conversation list, a screen of its own.
  if (page.viewportSize()!.width <= PHONE.width) {
    await page.goto(`${scene.url}/#/`);
    await waitOnline(page);
  } else await worldChat(page, scene);
  await page.getByTestId('new-room').click();
  await page.keyboard.type('Study group');
  const invite = page.getByRole('combobox');
  await invite.pressSequentially('emma');
  await until(async () => (await page.getByRole('option').count()) === 1, 'emma offered');
  await invite.press('Enter');
  await invite.pressSequentially('b');
  await until(async () => (await page.getByRole('option').count()) === 1, 'bob offered');
  await invite.press('ArrowDown');
};
const roomDirectory = async (page: Page, scene: Scene) => {
  await worldChat(page, scene);
  await page.getByTestId('browse-rooms').click();
  await until(async () => (await page.locator('.directory-item').count()) === 2, 'the two public rooms');
};
const roomSettings = async (page: Page, scene: Scene) => {
  await room(page, scene);
  await page.getByTestId('room-settings').click();
  await page.getByRole('dialog').waitFor();
};
/** The invite dialog from the members panel, with bob offered as already in the room. */
const inviteDialog = async (page: Page, scene: Scene) => {
  await room(page, scene);
  await page.getByTestId('members-toggle').click();
  await page.locator('.members-panel .panel-scroll .panel-action').click();
  await page.getByRole('dialog').waitFor();
  await page.getByRole('combobox').pressSequentially('b');
  await until(async () => (await page.locator('[role="option"][aria-disabled="true"]').count()) === 1, 'bob offered as already in the room');
};
/** The members panel with the question Leave asks first. */
const leaveQuestion = async (page: Page, scene: Scene) => {
  await room(page, scene);
  await page.getByTestId('members-toggle').click();
  await page.locator('.members-panel .panel-foot .panel-action').click();
  await page.locator('#leave-question').waitFor();
};
/** The notice a member removed from a room gets, over the world chat. */
const removalNotice = async (page: Page, scene: Scene) => {
  await worldChat(page, scene);
  const corner = await scene.bobRooms.create({ name: 'Quiet corner', visibility: 'private', invite: [scene.aliceId] });
  await conversationLink(page, corner.id).waitFor();
  await scene.bobRooms.remove(corner.id, scene.aliceId);
  await until(async () => ((await page.getByTestId('removal-notice').textContent()) ?? '') !== '', 'the removal notice');
};

const EMMA_LAST = 'Long thread, message 40';
/** The long DM with emma scrolled up with the wheel, a new message arrived below: "Jump to latest" shows. */
const jumpToLatest = async (page: Page, scene: Scene) => {
  await conversation((scene) => scene.dmWithEmma, () => EMMA_LAST)(page, scene);
  const box = (await page.locator('.vlist').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -1200);
  await page.locator('.jump-latest').waitFor();
  const text = `A new one while you read up (${Math.random().toString(36).slice(2, 8)})`;
  await scene.emma.api.send(scene.dmWithEmma, text);
  await until(async () => ((await conversationLink(page, scene.dmWithEmma).locator('.conv-preview').textContent()) ?? '').includes(text), 'the new message taken in');
  expect(await page.locator('.jump-latest').count()).toBe(1);
};

let uploads = 0;
/**
 * alice offers 陈静 a file, 陈静 accepts, and alice's upload starts and is held on its way (her
 * tab's PATCH never answered) after the first 96 KiB of 256 KiB have reached the server: her card
 * shows "Sending…" with its progress bar part-way.
 */
const uploadInProgress = async (page: Page, scene: Scene) => {
  await page.route(/\/api\/files\/[^/]+\/upload$/, (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    // Held: the upload stays in progress for as long as the view is audited.
  });
  await conversation((scene) => scene.dmWithChen, () => '你好 alice，周六见！')(page, scene);
  const name = `slides-week-${++uploads}.pdf`;
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'application/pdf', buffer: Buffer.alloc(256 * 1024, 7) });
  const card = page.getByTestId('file-card').filter({ has: page.getByTestId('file-name').getByText(name, { exact: true }) });
  await until(async () => (await card.count()) === 1 && (await card.getAttribute('data-state')) === 'offered', 'the offer');
  await scene.chenFiles.decide((await card.getAttribute('data-file'))!, 'accept');
  await until(async () => (await card.getAttribute('data-state')) === 'accepted', 'the offer accepted');
  const progress = card.getByTestId('file-progress');
  await progress.waitFor();
  await patchUpload(scene.aliceApi, { id: (await card.getAttribute('data-file'))! } as FileCard, 0, Buffer.alloc(96 * 1024, 7));
  await until(async () => (await progress.getAttribute('aria-valuenow')) === '37', 'the progress bar at 37%');
  await until(async () => (await card.locator('.file-actions button').count()) === 1, 'the Cancel button');
  expect(await card.getAttribute('data-state')).toBe('accepted');
};

/**
 * The notice that the server cannot reach its database, over a message kept "sending". The
 * server's refusal (STORE_UNAVAILABLE, as a server on PostgreSQL sends it while its database is
 * away) is put between the page and this SQLite test server: the client's handling and the notice
 * are the real ones (store-outage.test.ts stops a real PostgreSQL for the same notice), at no
 * database's cost.
 */
const storeDelayed = async (page: Page, scene: Scene) => {
  await unreliableSends(page.context());
  await page.reload();
  await worldChat(page, scene);
  await send(page, 'unstored: waiting for the database');
  const banner = page.getByTestId('connection-banner');
  await until(async () => (await banner.getAttribute('data-state')) === 'store-delayed', 'the notice that the database is away');
  await until(async () => (await page.locator('[data-testid="message"][data-status="sending"]').count()) === 1, 'the message kept "sending"');
};

/** Every view the accessibility audit covers. A new screen or state is one more line here. */
const VIEWS: View[] = [
  { name: 'sign-in', signedIn: false, show: signInPage },
  {
    name: 'create account, with an error',
    signedIn: false,
    show: async (page) => {
      await authenticate(page, 'register', 'bob', PASSWORD);
      await until(async () => ((await page.getByTestId('auth-error').textContent()) ?? '') !== '', 'the "name taken" error');
    },
  },
  { name: 'sign-in, dark', signedIn: false, scheme: 'dark', show: signInPage },
  { name: 'sign-in, phone, zh-CN', signedIn: false, phone: true, locale: 'zh-CN', show: signInPage },
  { name: 'world chat', signedIn: true, show: worldChat },
  { name: 'world chat, dark', signedIn: true, scheme: 'dark', show: worldChat },
  { name: 'world chat, zh-CN', signedIn: true, locale: 'zh-CN', show: worldChat },
  { name: 'world chat, messages sending and not sent', signedIn: true, show: sendStates },
  { name: 'world chat, messages sending and not sent, dark', signedIn: true, scheme: 'dark', show: sendStates },
  { name: 'DM with file cards', signedIn: true, show: dmWithFiles },
  { name: 'DM with file cards, dark', signedIn: true, scheme: 'dark', show: dmWithFiles },
  { name: 'new-chat dialog, with an error', signedIn: true, show: newChatDialog },
  { name: 'new-chat dialog, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: newChatDialog },
  { name: 'change-password dialog, with an error', signedIn: true, show: changePasswordDialog },
  { name: 'change-password dialog, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: changePasswordDialog },
  {
    name: 'phone: conversation list, zh-CN',
    signedIn: true,
    phone: true,
    locale: 'zh-CN',
    show: async (page, scene) => {
      await page.goto(`${scene.url}/#/`);
      await waitOnline(page);
    },
  },
  { name: 'phone: world chat, zh-CN', signedIn: true, phone: true, locale: 'zh-CN', show: worldChat },
  { name: 'phone: DM with file cards, dark', signedIn: true, phone: true, scheme: 'dark', show: dmWithFiles },
  { name: 'a room with its members panel and a member’s options', signedIn: true, show: roomWithMembers },
  { name: 'a room with its members panel, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: roomWithMembers },
  { name: 'new-room dialog, with people offered', signedIn: true, show: newRoomDialog },
  { name: 'new-room dialog, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: newRoomDialog },
  { name: 'room directory', signedIn: true, show: roomDirectory },
  { name: 'room directory, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: roomDirectory },
  { name: 'room settings', signedIn: true, show: roomSettings },
  { name: 'room settings, dark', signedIn: true, scheme: 'dark', show: roomSettings },
  { name: 'invite dialog, with someone already in the room', signedIn: true, show: inviteDialog },
  { name: 'invite dialog, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: inviteDialog },
  { name: 'a room: the question before leaving it', signedIn: true, show: leaveQuestion },
  { name: 'a room: the question before leaving it, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: leaveQuestion },
  { name: 'world chat with the notice of a removal from a room', signedIn: true, show: removalNotice },
  { name: 'world chat with the notice of a removal from a room, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: removalNotice },
  { name: 'phone: new-room dialog, zh-CN', signedIn: true, phone: true, locale: 'zh-CN', show: newRoomDialog },
  { name: 'phone: a room, zh-CN', signedIn: true, phone: true, locale: 'zh-CN', show: room },
  { name: 'phone: a room’s members, dark', signedIn: true, phone: true, scheme: 'dark', show: roomWithMembers },
  { name: 'a DM scrolled up while a message arrives: "Jump to latest"', signedIn: true, show: jumpToLatest },
  { name: 'a DM scrolled up while a message arrives: "Jump to latest", dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: jumpToLatest },
  { name: 'a DM with a file upload in progress', signedIn: true, show: uploadInProgress },
  { name: 'a DM with a file upload in progress, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: uploadInProgress },
  { name: 'world chat with the notice that the server cannot reach its database', signedIn: true, show: storeDelayed },
  { name: 'world chat with the notice that the server cannot reach its database, dark, zh-CN', signedIn: true, scheme: 'dark', locale: 'zh-CN', show: storeDelayed },
  { name: 'phone: the notice that the server cannot reach its database', signedIn: true, phone: true, show: storeDelayed },
];

describe.skipIf(!hasChromium)('accessibility of the web client (axe-core, WCAG 2.1 A and AA)', () => {
  let server: TestServer;
  let browser: Browser;
  let scene: Scene;
  const live: Client[] = [];

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
    const [alice, bob, chen, emma] = await Promise.all(['alice', 'bob', '陈静', 'emma'].map((name) => registerUser(server.url, name, PASSWORD)));
    const dmWithBob = dmId(alice!.user.id, bob!.user.id);
    await bob!.api.send('world', 'Morning all! Did everyone get the slides from yesterday?');
    await chen!.api.send('world', '收到了，谢谢！第三页的图表很清楚 👍');
    await emma!.api.send('world', 'Here they are again: https://example.org/slides/week-3');
    await alice!.api.send('world', 'Yes, 10:00–14:00. I’ll be there the whole time.');
    await alice!.api.send('world', 'Bring your laptops 💻');
    await bob!.api.send('world', WORLD_LAST);
    const dmWithChen = dmId(alice!.user.id, chen!.user.id);
    await chen!.api.send(dmWithChen, '你好 alice，周六见！');
    // A DM long enough to scroll, its newest message emma's.
    const dmWithEmma = dmId(alice!.user.id, emma!.user.id);
    for (let n = 1; n <= 40; n++) await (n % 3 === 0 ? alice! : emma!).api.send(dmWithEmma, n === 40 ? EMMA_LAST : `Long thread, message ${n}: notes on chapter ${n}, with a line long enough to wrap once or twice on a phone.`);

    await bob!.api.send(dmWithBob, 'Can you look at the report tonight?');
    const bobFiles = new FileApi(bob!.api);
    const aliceFiles = new FileApi(alice!.api);
    await offer(bobFiles, dmWithBob, Buffer.from('%PDF-1.4 draft'), 'report-draft.pdf');
    const declined = await offer(aliceFiles, dmWithBob, Buffer.from('old notes'), 'old-notes.txt');
    await bobFiles.decide(declined.id, 'decline');
    await offer(aliceFiles, dmWithBob, Buffer.from('a,b\n1,2\n'), 'budget.csv');
    await alice!.api.send(dmWithBob, DM_LAST);

    // A private room alice owns, with its history of changes; two public rooms for the directory.
    const aliceRooms = new RoomApi(alice!.api);
    const club = await aliceRooms.create({ name: 'Book club 读书会', topic: 'Chapter 3 this week', visibility: 'private', invite: [bob!.user.id, chen!.user.id] });
    await aliceRooms.setRole(club.id, chen!.user.id, 'admin');
    await bob!.api.send(club.id, 'Finished chapter 2 last night. That ending!');
    await aliceRooms.invite(club.id, [emma!.user.id]);
    await chen!.api.send(club.id, ROOM_LAST);
    await aliceRooms.create({ name: 'Physics lab', topic: 'Saturdays 10:00–14:00', visibility: 'public' });
    await new RoomApi(emma!.api).create({ name: 'Music 音乐', visibility: 'public' });
    // bob and emma stay online, so the online list has people in it.
    live.push(await connect(bob!.api), await connect(emma!.api));

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(server.url);
    await authenticate(page, 'sign-in', 'alice', PASSWORD);
    await waitOnline(page);
    scene = {
      url: server.url,
      alice: await context.storageState(),
      dmWithBob,
      room: club.id,
      aliceId: alice!.user.id,
      bobRooms: new RoomApi(bob!.api),
      dmWithEmma,
      emma: emma!,
      dmWithChen,
      chenFiles: new FileApi(chen!.api),
      aliceApi: alice!.api,
    };
    await context.close();
  }, 240_000);

  afterAll(async () => {
    for (const client of live) client.close();
    await stopWebTestbed(browser, server);
  });

  for (const view of VIEWS) {
    it(`has one h1 and no serious or critical axe violations: ${view.name}`, async () => {
      const context = await browser.newContext({
        viewport: view.phone ? PHONE : DESKTOP,
        ...(view.phone ? { isMobile: true, hasTouch: true } : {}),
        locale: view.locale ?? 'en-US',
        colorScheme: view.scheme ?? 'light',
        ...(view.signedIn ? { storageState: scene.alice } : {}),
      });
      try {
        const page = await context.newPage();
        await page.goto(server.url);
        await view.show(page, scene);
        expect(await page.evaluate(() => document.documentElement.lang)).toBe(view.locale === 'zh-CN' ? 'zh-CN' : 'en');
        // One h1 for the view (the page's, or the open chat's on a phone), as a screen reader's outline starts.
        expect(await page.locator('h1:visible').count()).toBe(1);
        const findings = seriousOrCritical(await axeAudit(page));
        expect(findings, describeFindings(findings)).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
