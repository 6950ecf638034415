import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser, type Client } from '../support/clients.ts';
import type { TestServer } from '../support/server.ts';
import { dmId } from '../../src/protocol/conversations.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { unreliableSends } from './support/unreliable-sends.ts';
import { DESKTOP, authenticate, conversationLink, hasChromium, send, until, waitForMessage, waitOnline } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const WORLD_MESSAGES = 120;

/** What the chat's live region has said so far, line by line. */
const spoken = (page: Page) => page.getByTestId('announcer').evaluate((region) => [...region.children].map((line) => line.textContent ?? ''));

async function saysNext(page: Page, before: number, line: string): Promise<void> {
  await until(async () => (await spoken(page)).length > before, `the live region to say ${JSON.stringify(line)}`);
  expect((await spoken(page)).slice(before)).toEqual([line]);
}

describe.skipIf(!hasChromium)('what a screen reader hears: new messages from a live region of their own, and the send status', () => {
  let server: TestServer;
  let browser: Browser;
  let bob: Client;
  let carol: Client;
  let carolId: number;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--send-rate', '100000', '--send-burst', '100000']));
    const [b, c] = await Promise.all(['bob', 'carol'].map((name) => registerUser(server.url, name, PASSWORD)));
    carolId = c!.user.id;
    [bob, carol] = await Promise.all([connect(b!.api), connect(c!.api)]);
    for (let n = 1; n <= WORLD_MESSAGES; n += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => bob.session.send('world', `old message ${n + k}`)));
  }, 240_000);

  afterAll(async () => {
    bob?.close();
    carol?.close();
    await stopWebTestbed(browser, server);
  });

  it('announces a new message in the open conversation, not the older ones loaded while scrolling up; the list itself is not live', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'listener', PASSWORD);
      await waitOnline(page);
      await waitForMessage(page, `old message ${WORLD_MESSAGES}`);
      expect(await spoken(page)).toEqual([]);
      // Messages are announced by a live region of their own; the message list is a plain region.
      expect(await page.getByTestId('announcer').getAttribute('role')).toBe('log');
      expect(await page.locator('[role="log"]').count()).toBe(1);
      expect(await page.locator('.vlist').getAttribute('role')).toBe('region');
      expect(await page.locator('.vlist').getAttribute('aria-live')).toBeNull();
      expect(await page.locator('.vlist [aria-live]').count()).toBe(0);

      await bob.session.send('world', 'Is anyone here?');
      await saysNext(page, 0, 'bob: Is anyone here?');

      // Paging back: 70 older messages come in above; none is news.
      const box = (await page.locator('.vlist').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 0; i < 20 && (await page.locator('.history-start').count()) === 0; i++) {
        await page.mouse.wheel(0, -5000);
        await page.waitForTimeout(150);
      }
      await until(async () => (await page.locator('.history-start').count()) === 1, 'the first message of the world chat');
      expect(await page.getByText('old message 1', { exact: true }).count()).toBe(1);
      expect(await spoken(page)).toEqual(['bob: Is anyone here?']);
    } finally {
      await context.close();
    }
  });

  it('announces direct messages and mentions from other conversations politely, and nothing else from them', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'nadia', PASSWORD);
      await waitOnline(page);
      const nadia = Number(await page.evaluate(() => fetch('/api/me').then((r) => r.json()).then((body: { user: { id: number } }) => body.user.id)));
      expect(await page.getByTestId('announcer').getAttribute('aria-live')).toBe('polite');

      // In the world chat: a DM from carol is announced as one.
      await carol.session.send(dmId(nadia, carolId), 'are you coming on Saturday?');
      await saysNext(page, 0, 'Direct message from carol: are you coming on Saturday?');

      // In the DM with carol: world chat chatter is not announced, a mention of nadia is.
      await conversationLink(page, dmId(nadia, carolId)).click();
      await waitForMessage(page, 'are you coming on Saturday?');
      await bob.session.send('world', 'chatter nobody needs to hear');
      await bob.session.send('world', 'thanks @nadia, see you there');
      await saysNext(page, 1, 'bob mentioned you in the world chat: thanks @nadia, see you there');
    } finally {
      await context.close();
    }
  });

  it('says whether each of your messages is sending, sent or not sent, in the accessibility tree', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    await unreliableSends(context);
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'sam', PASSWORD);
      await waitOnline(page);
      await send(page, 'this one goes through');
      await send(page, 'hold: this one waits');
      await send(page, 'fail: this one fails');
      const article = (text: string) => page.getByRole('article').filter({ hasText: text });
      await until(async () => (await article('this one fails').getAttribute('data-status')) === 'failed', 'the failed send');
      await until(async () => (await article('this one goes through').getAttribute('data-status')) === 'sent', 'the sent message');
      // Each message is an article named by who wrote it and when; the status is read inside it.
      const tree = async (text: string) => article(text).ariaSnapshot();
      expect(await tree('this one goes through')).toMatch(/^- article "You, [^"]+":[\s\S]*Sent/);
      expect(await tree('hold: this one waits')).toMatch(/^- article "You, [^"]+":[\s\S]*Sending…/);
      expect(await tree('fail: this one fails')).toMatch(/^- article "You, [^"]+":[\s\S]*Not sent/);
      // Others' messages carry their author in the name too, even without the visible name (a run).
      await bob.session.send('world', 'first of two');
      await bob.session.send('world', 'second of two');
      await waitForMessage(page, 'second of two');
      expect(await tree('second of two')).toMatch(/^- article "bob, [^"]+":/);
    } finally {
      await context.close();
    }
  });
});
