import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser, type Client } from '../support/clients.ts';
import { offer } from '../support/files.ts';
import type { TestServer } from '../support/server.ts';
import { FileApi } from '../../src/client/files.ts';
import type { ParleyApi } from '../../src/client/api.ts';
import { RoomApi } from '../../src/client/rooms.ts';
import { dmId } from '../../src/protocol/conversations.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { DESKTOP, PHONE, authenticate, hasChromium, until, waitForMessage, waitOnline } from './support/browser.ts';
import { unreliableSends } from './support/unreliable-sends.ts';

const PASSWORD = 'correct horse battery';

/** What has the focus, described so a failing assertion says where it went instead. */
interface Focus {
  tag: string;
  id: string;
  name: string;
  testid: string | null;
  conv: string | null;
  user: string | null;
  file: string | null;
  /** The chat that is open, from its heading. */
  chat: string | null;
}

function focus(page: Page): Promise<Focus> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const name = el.getAttribute('aria-label') ?? el.getAttribute('name') ?? (el.tagName === 'BUTTON' || el.tagName.startsWith('H') ? (el.textContent ?? '').trim() : '');
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      name,
      testid: el.dataset.testid ?? null,
      conv: el.dataset.conv ?? null,
      user: el.dataset.user ?? null,
      file: el.dataset.file ?? null,
      chat: document.querySelector('[data-testid="chat-title"]')?.textContent ?? null,
    };
  });
}

/** Presses Tab (or Shift+Tab) until `wanted` holds for the focused element: the way a keyboard user gets somewhere. */
async function tabTo(page: Page, wanted: (focused: Focus) => boolean, what: string, backwards = false): Promise<Focus> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const focused = await focus(page);
    if (wanted(focused)) return focused;
  }
  throw new Error(`${what} was not reached with ${backwards ? 'Shift+Tab' : 'Tab'} (focus is on ${JSON.stringify(await focus(page))})`);
}

/**
 * The contrast of the focused element's ring against what is around it: its outline against the
 * background it is drawn on, or (the composer, whose box shows the focus) the box's ring against
 * the pane behind it and the box itself.
 */
function ringContrast(page: Page): Promise<number> {
  return page.evaluate(() => {
    const parse = (css: string) => (css.match(/rgba?\(([^)]+)\)/)?.[1] ?? '0,0,0').split(',').map((part) => parseFloat(part));
    const luminance = ([r, g, b]: number[]) =>
      [r!, g!, b!].map((c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i]!, 0);
    const contrast = (a: number[], b: number[]) => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
      return (x! + 0.05) / (y! + 0.05);
    };
    /** The first opaque background at or above `el`. */
    const behind = (el: Element | null): number[] => {
      for (let at = el; at; at = at.parentElement) {
        const bg = parse(getComputedStyle(at).backgroundColor);
        if ((bg[3] ?? 1) > 0.9) return bg;
      }
      return [255, 255, 255];
    };
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    // A text field whose box shows the focus (the composer, the people picker, the directory's
    // search), or a plain field drawing its own ring: the first colour of the box-shadow is the ring.
    const box = el.closest('.composer-box, .picker-box, .search-field') ?? (style.outlineStyle === 'none' && style.boxShadow !== 'none' ? el : null);
    if (box) {
      const shadow = getComputedStyle(box).boxShadow;
      if (!shadow.startsWith('rgb')) return 0;
      const ring = parse(shadow);
      return Math.min(contrast(ring, behind(box.parentElement)), contrast(ring, behind(box)));
    }
    if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) return 0;
    // Drawn outside the element (positive offset): against what is behind it.
    return contrast(parse(style.outlineColor), behind(parseFloat(style.outlineOffset) >= 0 ? el.parentElement : el));
  });
}

describe.skipIf(!hasChromium)('the web client from the keyboard alone: focus goes somewhere on purpose after every step', () => {
  let server: TestServer;
  let browser: Browser;
  const live: Client[] = [];
  let fileId: string;
  let bobApi: ParleyApi;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
    const [kim, bob, carol] = await Promise.all(['kim', 'bob', 'carol'].map((name) => registerUser(server.url, name, PASSWORD)));
    const withBob = dmId(kim!.user.id, bob!.user.id);
    bobApi = bob!.api;
    await bob!.api.send('world', 'Morning, everyone');
    await bob!.api.send(withBob, 'Here are the minutes from Monday.');
    fileId = (await offer(new FileApi(bob!.api), withBob, Buffer.from('minutes'), 'minutes.txt')).id;
    live.push(await connect(bob!.api), await connect(carol!.api));
  }, 240_000);

  afterAll(async () => {
    for (const client of live) client.close();
    await stopWebTestbed(browser, server);
  });

  it('signs in, switches conversations, opens a DM from the online list, sends, attaches, accepts a file, opens and closes the new-chat dialog, and signs out', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    try {
      const page = await context.newPage();
      // File choosers are caught from the start: turning that on as the picker opens can come too late.
      page.on('filechooser', () => {});
      await page.goto(server.url);
      await page.locator('#auth-form').waitFor();

      // Sign-in: the name field has the focus; the tabs take the arrow keys and keep the focus.
      expect(await focus(page)).toMatchObject({ tag: 'input', name: 'name' });
      expect(await tabTo(page, (f) => f.name === 'Sign in', 'the "Sign in" tab', true)).toMatchObject({ tag: 'button' });
      await page.keyboard.press('ArrowRight');
      expect(await focus(page)).toMatchObject({ name: 'Create account' });
      await page.keyboard.press('ArrowRight');
      expect(await focus(page)).toMatchObject({ name: 'Sign in' });
      expect(await page.getByRole('tab', { name: 'Sign in' }).getAttribute('aria-selected')).toBe('true');
      await page.keyboard.press('Tab');
      expect(await focus(page)).toMatchObject({ tag: 'input', name: 'name' });
      await page.keyboard.type('kim');
      await page.keyboard.press('Tab');
      expect(await focus(page)).toMatchObject({ tag: 'input', name: 'password' });
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await waitOnline(page);
      // Signed in: the composer of the world chat, ready to write.
      await until(async () => (await focus(page)).testid === 'composer', 'the focus on the composer after signing in');
      expect((await focus(page)).chat).toBe('World chat');
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);

      // Switch conversations: back through the page to the DM with bob in the sidebar, then Enter.
      const withBob = await tabTo(page, (f) => f.conv?.startsWith('dm:') === true && f.name === '' && f.chat === 'World chat', 'the DM with bob', true);
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'bob', 'the DM with bob to open');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'bob' });
      // The ring on the open conversation (drawn on its gradient before this change, 1.1:1) reads.
      await tabTo(page, (f) => f.conv === withBob.conv, 'the open DM with bob', true);
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);

      // Open a DM from the online list.
      await tabTo(page, (f) => f.user === 'carol', 'carol in the online list');
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'carol', 'the DM with carol to open');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'carol' });

      // Send with Enter: the focus stays in the composer. Send with the button: it comes back there.
      await page.keyboard.type('hello carol');
      await page.keyboard.press('Enter');
      await waitForMessage(page, 'hello carol');
      expect(await focus(page)).toMatchObject({ testid: 'composer' });
      await page.keyboard.type('sent with the button');
      await page.keyboard.press('Tab');
      expect(await focus(page)).toMatchObject({ testid: 'send' });
      await page.keyboard.press('Enter');
      await waitForMessage(page, 'sent with the button');
      expect(await focus(page)).toMatchObject({ testid: 'composer' });

      // Attach: the button opens the file picker; once a file is chosen, back to writing.
      expect(await tabTo(page, (f) => f.testid === 'attach', 'the attach button', true)).toMatchObject({ name: 'Send a file' });
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
      await chooser.setFiles({ name: 'agenda.txt', mimeType: 'text/plain', buffer: Buffer.from('1. minutes\n2. budget\n') });
      await until(async () => (await page.getByTestId('file-card').count()) === 1, 'the offer of agenda.txt');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'carol' });

      // Accept bob's file: the Accept button goes away, and the card keeps the focus.
      await tabTo(page, (f) => f.conv === withBob.conv, 'the DM with bob', true);
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'bob', 'the DM with bob to open');
      await tabTo(page, (f) => f.name === 'Accept', 'the Accept button on the card', true);
      await page.keyboard.press('Enter');
      await until(async () => (await page.locator(`[data-file="${fileId}"]`).getAttribute('data-state')) === 'accepted', 'the file to be accepted');
      expect(await page.getByRole('button', { name: 'Accept' }).count()).toBe(0);
      expect(await focus(page)).toMatchObject({ tag: 'article', file: fileId });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);

      // The new-chat dialog: focus inside it; Escape or its Close button gives it back to the button that opened it.
      const newChat = await tabTo(page, (f) => f.name === 'New message', 'the "New message" button', true);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ tag: 'input' });
      await page.keyboard.press('Escape');
      expect(await focus(page)).toEqual(newChat);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ tag: 'input' });
      await page.keyboard.press('Shift+Tab');
      expect(await focus(page)).toMatchObject({ name: 'Close' });
      await page.keyboard.press('Enter');
      expect(await focus(page)).toEqual(newChat);
      // And opening someone from it: the composer of that conversation.
      await page.keyboard.press('Enter');
      await page.keyboard.type('carol');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'carol', 'the DM with carol to open from the dialog');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'carol' });

      // Sign out: the sign-in page, with the focus on its name field.
      await tabTo(page, (f) => f.testid === 'sign-out', 'the sign-out button', true);
      await page.keyboard.press('Enter');
      await page.locator('#auth-form').waitFor();
      await until(async () => (await focus(page)).name === 'name', 'the focus on the name field after signing out');
    } finally {
      await context.close();
    }
  });

  it('on a phone, opening a conversation focuses its heading, and Back returns to the conversation in the list', async () => {
    const context = await browser.newContext({ viewport: PHONE, locale: 'en-US' });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator('input[name="name"]').fill('kim');
      await page.locator('input[name="password"]').fill(PASSWORD);
      await page.keyboard.press('Enter');
      await waitOnline(page);
      await page.goto(`${server.url}/#/`);
      await waitOnline(page);

      await tabTo(page, (f) => f.conv === 'world', 'the world chat in the list');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).tag === 'h1', 'the focus on the heading of the opened chat');
      expect(await focus(page)).toMatchObject({ tag: 'h1', name: 'World chat' });
      expect(await page.locator('h1:visible').count()).toBe(1);

      const back = await tabTo(page, (f) => f.name.startsWith('Back to chats'), 'the Back button', true);
      expect(back.tag).toBe('button');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).conv === 'world', 'the focus back on the world chat in the list');
      expect(await page.locator('h1:visible').textContent()).toBe('Parley');
    } finally {
      await context.close();
    }
  });
  it('rooms: creates one, opens and closes the members panel, the invite, settings and directory dialogs, invites, makes an admin and removes a member, joins, leaves, and is removed from one', async () => {
    const lee = await registerUser(server.url, 'lee', PASSWORD);
    const bobRooms = new RoomApi(bobApi);
    await bobRooms.create({ name: 'Gardening', topic: 'tomatoes', visibility: 'public' });
    const secret = await bobRooms.create({ name: 'Secret plans', visibility: 'private', invite: [lee!.user.id] });
    await bobApi.send(secret.id, 'Only for us two');
    // Without transitions, so each ring is measured as it rests, not fading in.
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', reducedMotion: 'reduce' });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator('#auth-form').waitFor();
      await page.keyboard.type('lee');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await waitOnline(page);
      await until(async () => (await focus(page)).testid === 'composer', 'the focus on the composer after signing in');

      // New room: its name field; Escape gives the focus back to the button; Enter in the name creates it and opens it to write in.
      const newRoom = await tabTo(page, (f) => f.testid === 'new-room', 'the "New room" button', true);
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'new-room-name' });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Escape');
      expect(await focus(page)).toEqual(newRoom);
      await page.keyboard.press('Enter');
      await page.keyboard.type('Study group');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'Study group', 'the new room to open');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'Study group' });

      // The members panel takes the focus on its heading; the invite dialog its field; each gives it back when closed.
      const membersButton = await tabTo(page, (f) => f.testid === 'members-toggle', 'the Members button', true);
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'members-title' });
      const invite = await tabTo(page, (f) => f.name === 'Invite people', 'the "Invite people" button');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'invite-people-input' });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Escape');
      expect(await focus(page)).toEqual(invite);

      // Inviting bob: Enter picks him, Invite sends and gives the focus back to the button.
      await page.keyboard.press('Enter');
      await page.keyboard.type('bob');
      await until(async () => (await page.getByRole('option').count()) === 1, 'bob offered');
      await page.keyboard.press('Enter');
      await until(async () => (await page.locator('.chip').count()) === 1, 'bob picked');
      await tabTo(page, (f) => f.testid === 'send-invites', 'the Invite button');
      await page.keyboard.press('Enter');
      await until(async () => (await page.getByRole('dialog').count()) === 0, 'the invite dialog to close');
      expect(await focus(page)).toEqual(invite);
      await page.locator('li.member[data-member="bob"]').waitFor();
      // Making bob an admin: his options close, and the panel's heading takes the focus.
      await tabTo(page, (f) => f.name === 'Options for bob', 'the options for bob');
      await page.keyboard.press('Enter');
      await tabTo(page, (f) => f.name === 'Make admin', 'Make admin');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).id === 'members-title', 'the focus on the panel heading after Make admin');
      // Removing him: a question with its answer focused; Cancel gives the focus back to the button that asked.
      await tabTo(page, (f) => f.name === 'Options for bob', 'the options for bob');
      await page.keyboard.press('Enter');
      await tabTo(page, (f) => f.name === 'Remove from room', 'Remove from room');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ name: 'Remove' });
      await tabTo(page, (f) => f.name === 'Cancel', 'Cancel under the question');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ name: 'Remove from room' });
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ name: 'Remove' });
      await page.keyboard.press('Enter');
      await until(async () => (await page.locator('li.member[data-member="bob"]').count()) === 0, 'bob removed');
      expect(await focus(page)).toMatchObject({ id: 'members-title' });

      await page.keyboard.press('Escape');
      await until(async () => (await page.getByTestId('members-panel').count()) === 0, 'the panel to close');
      await until(async () => (await focus(page)).testid === membersButton.testid, 'the focus back on the Members button');

      // Room settings: its name field; Cancel gives the focus back to the button.
      const settings = await tabTo(page, (f) => f.testid === 'room-settings', 'the room settings button');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'room-settings-name' });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await tabTo(page, (f) => f.name === 'Cancel', 'the Cancel button of the settings');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toEqual(settings);

      // The directory: its search field; joining a room opens it to write in.
      const browse = await tabTo(page, (f) => f.testid === 'browse-rooms', 'the "Browse rooms" button', true);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ tag: 'input', name: 'Search rooms by name' });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Escape');
      expect(await focus(page)).toEqual(browse);
      await page.keyboard.press('Enter');
      await page.keyboard.type('gar');
      await until(async () => (await page.locator('.directory-item').count()) === 1, 'only Gardening for "gar"');
      await tabTo(page, (f) => f.name === 'Join Gardening', 'the Join button of Gardening');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'Gardening', 'Gardening to open');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'Gardening' });

      // Leaving: a question, its answer focused; once out, the heading of the chat shown instead says where you are.
      await tabTo(page, (f) => f.testid === 'members-toggle', 'the Members button', true);
      await page.keyboard.press('Enter');
      await tabTo(page, (f) => f.name === 'Leave room', 'the "Leave room" button');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ name: 'Leave' });
      expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'World chat', 'the world chat after leaving');
      expect(await focus(page)).toMatchObject({ id: 'chat-title', name: 'World chat' });

      // Removed while writing in a room: the words typed for the room are not left in the world chat's
      // composer, one Enter away from everyone; the focus goes to the heading of the chat shown instead.
      await tabTo(page, (f) => f.conv === secret.id, 'Secret plans in the sidebar', true);
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).chat === 'Secret plans', 'Secret plans to open');
      await page.keyboard.type('just between us');
      await bobRooms.remove(secret.id, lee!.user.id);
      await until(async () => (await focus(page)).chat === 'World chat', 'the world chat after the removal');
      await until(async () => (await page.getByTestId('removal-notice').textContent()) !== '', 'the removal notice');
      expect(await focus(page)).toMatchObject({ id: 'chat-title', name: 'World chat' });
      // The notice's Dismiss puts the focus in the world chat's composer, which holds none of the words meant for the room.
      await tabTo(page, (f) => f.name === 'Dismiss', 'the Dismiss button of the notice');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ testid: 'composer', chat: 'World chat' });
      expect(await page.getByTestId('composer').inputValue()).toBe('');
    } finally {
      await context.close();
    }
  });
  it('a message that was not sent: Retry and Discard, pressed from the keyboard, leave the focus on the message list, not on <body>', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    const failing = new Set(['not yet', 'drop this one']);
    await unreliableSends(context, { hold: () => false, fail: (text) => failing.has(text) });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'uma', PASSWORD);
      await waitOnline(page);
      await until(async () => (await focus(page)).testid === 'composer', 'the focus on the composer');
      const onTheList = () => page.evaluate(() => document.activeElement?.classList.contains('vlist') ?? false);
      const status = (text: string) => page.getByRole('article').filter({ hasText: text }).getAttribute('data-status');

      await page.keyboard.type('not yet');
      await page.keyboard.press('Enter');
      await until(async () => (await status('not yet')) === 'failed', '"not yet" not sent');
      failing.delete('not yet');
      await tabTo(page, (f) => f.name === 'Retry', 'its Retry button', true);
      await page.keyboard.press('Enter');
      await until(async () => (await status('not yet')) === 'sent', '"not yet" sent on the second try');
      expect(await onTheList()).toBe(true);

      await tabTo(page, (f) => f.testid === 'composer', 'the composer');
      await page.keyboard.type('drop this one');
      await page.keyboard.press('Enter');
      await until(async () => (await status('drop this one')) === 'failed', '"drop this one" not sent');
      await tabTo(page, (f) => f.name === 'Discard', 'its Discard button', true);
      await page.keyboard.press('Enter');
      await until(async () => (await page.getByRole('article').filter({ hasText: 'drop this one' }).count()) === 0, 'the message discarded');
      expect(await onTheList()).toBe(true);
    } finally {
      await context.close();
    }
  });
  it('the room directory: Show more, pressed from the keyboard, puts the focus on the first room it brought', async () => {
    // 31 public rooms, one more than a directory page. Creating a room takes from its creator's
    // send budget (a burst of 30, docs/PROTOCOL.md), so three founders share the work.
    const founders = await Promise.all(['founder1', 'founder2', 'founder3'].map(async (name) => new RoomApi((await registerUser(server.url, name, PASSWORD)).api)));
    for (let n = 1; n <= 31; n++) await founders[n % 3]!.create({ name: `Club ${String(n).padStart(2, '0')}`, visibility: 'public' });
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'vic', PASSWORD);
      await waitOnline(page);
      await until(async () => (await focus(page)).testid === 'composer', 'the focus on the composer');
      await tabTo(page, (f) => f.testid === 'browse-rooms', 'the "Browse rooms" button', true);
      await page.keyboard.press('Enter');
      const rooms = page.locator('.directory-item');
      await until(async () => (await rooms.count()) === 30, 'the first page of the directory');
      await tabTo(page, (f) => f.name === 'Show more', 'the "Show more" button');
      await page.keyboard.press('Enter');
      await until(async () => (await rooms.count()) > 30, 'the second page of the directory');
      const firstBrought = await rooms.nth(30).getByRole('button').getAttribute('aria-label');
      expect(await focus(page)).toMatchObject({ tag: 'button', name: firstBrought });
    } finally {
      await context.close();
    }
  });
  it('the members panel: Try again after its list failed to load keeps the focus in the panel, on its heading', async () => {
    const wes = await registerUser(server.url, 'wes', PASSWORD);
    const room = await new RoomApi(bobApi).create({ name: 'Band practice', visibility: 'private', invite: [wes!.user.id] });
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    // The first request for the members fails, as on a bad network; the next one goes through.
    let failures = 1;
    await context.route(/\/api\/rooms\/[^/]+\/members/, (route) => (failures-- > 0 ? route.fulfill({ status: 503, body: '' }) : route.continue()));
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'sign-in', 'wes', PASSWORD);
      await waitOnline(page);
      await page.goto(`${server.url}/#/c/${room.id}`);
      await until(async () => (await focus(page)).chat === 'Band practice', 'the room to open');
      await tabTo(page, (f) => f.testid === 'members-toggle', 'the Members button', true);
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'members-title' });
      await tabTo(page, (f) => f.name === 'Try again', 'Try again under "Could not load the members."');
      await page.keyboard.press('Enter');
      await until(async () => (await page.locator('li.member').count()) === 2, 'the two members');
      expect(await focus(page)).toMatchObject({ id: 'members-title' });
    } finally {
      await context.close();
    }
  });
  it('on a phone, a room: its heading when opened, the members panel’s heading, and after leaving it the world chat in the list', async () => {
    const pia = await registerUser(server.url, 'pia', PASSWORD);
    const room = await new RoomApi(bobApi).create({ name: 'Phone club', visibility: 'private', invite: [pia!.user.id] });
    const context = await browser.newContext({ viewport: PHONE, locale: 'en-US', isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'sign-in', 'pia', PASSWORD);
      await waitOnline(page);
      await page.goto(`${server.url}/#/`);
      await waitOnline(page);

      await tabTo(page, (f) => f.conv === room.id, 'Phone club in the list');
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).tag === 'h1', 'the focus on the heading of the room');
      expect(await focus(page)).toMatchObject({ tag: 'h1', name: 'Phone club' });
      await tabTo(page, (f) => f.testid === 'members-toggle', 'the Members button');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ id: 'members-title' });
      await tabTo(page, (f) => f.name === 'Leave room', 'the "Leave room" button');
      await page.keyboard.press('Enter');
      expect(await focus(page)).toMatchObject({ name: 'Leave' });
      await page.keyboard.press('Enter');
      await until(async () => (await focus(page)).conv === 'world', 'the focus on the world chat in the list');
      expect(await page.locator('h1:visible').textContent()).toBe('Parley');
      expect(await page.locator(`a.conv-item[data-conv="${room.id}"]`).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
