import type { Page } from 'playwright-core';
import { FileApi } from '../../src/client/files.ts';
import { dmId } from '../../src/protocol/conversations.ts';
import { connect, registerUser, type Client } from '../../test/support/clients.ts';
import { offer } from '../../test/support/files.ts';
import { DESKTOP, authenticate, openApp, send, until, waitForMessage, waitOnline } from '../../test/e2e/support/browser.ts';
import { unreliableSends } from '../../test/e2e/support/unreliable-sends.ts';
import type { Scene } from '../stage.ts';

const PASSWORD = 'correct horse battery';

/** Presses Tab (Shift+Tab) until the focused element matches `selector`. */
async function tabTo(page: Page, selector: string, backwards = true): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} was not reached from the keyboard`);
}

/**
 * What a keyboard user sees (focus rings on the open conversation, the composer, a file card
 * after Accept, the sign-in tabs) and the send states (sending, not sent), on a desktop in both
 * themes and languages. Each picture is taken in the page's own language, so no click moves the focus.
 */
export const accessibilityScene: Scene = {
  name: 'accessibility',
  async run({ server, browser, shoot }) {
    const [alice, bob, chen] = await Promise.all(['alice', 'bob', '陈静'].map((name) => registerUser(server.url, name, PASSWORD)));
    const withBob = dmId(alice!.user.id, bob!.user.id);
    await bob!.api.send('world', 'Morning all! Did everyone get the slides from yesterday?');
    await chen!.api.send('world', '收到了，谢谢！第三页的图表很清楚 👍');
    await alice!.api.send('world', 'Yes — and the lab is open on Saturday, 10:00–14:00.');
    await bob!.api.send('world', 'See you there 🙌');
    await bob!.api.send(withBob, 'Here is the draft of the report.');
    await offer(new FileApi(bob!.api), withBob, Buffer.from('%PDF-1.4 draft'), 'report-draft.pdf');
    const live: Client[] = [await connect(bob!.api), await connect(chen!.api)];

    const light = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    const dark = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'zh-CN', deviceScaleFactor: 1 });
    await unreliableSends(dark.context, { hold: (text) => text === '我马上到', fail: (text) => text === '这条没有发出去' });
    const signIn = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    try {
      // Signed in from the keyboard: the composer has the focus.
      const page = light.page;
      await authenticate(page, 'sign-in', 'alice', PASSWORD);
      await waitOnline(page);
      await waitForMessage(page, 'See you there 🙌');
      await page.getByTestId('composer').focus();
      await page.keyboard.type('Great, see you all there!');
      await shoot(page, 'a11y-focus-composer-light-en', 'light', 'en');
      await tabTo(page, 'a.conv-item[data-conv="world"]');
      await shoot(page, 'a11y-focus-open-conversation-light-en', 'light', 'en');

      // Accepting a file from the keyboard: the card keeps the focus.
      await tabTo(page, `a.conv-item[data-conv="${withBob}"]`, false);
      await page.keyboard.press('Enter');
      await waitForMessage(page, 'Here is the draft of the report.');
      await tabTo(page, 'button[data-action="accept"]');
      await page.keyboard.press('Enter');
      await until(async () => (await page.locator('[data-testid="file-card"]').getAttribute('data-state')) === 'accepted', 'the file to be accepted');
      await shoot(page, 'a11y-file-accepted-light-en', 'light', 'en');

      // Your messages in every state: sent, sending, not sent.
      await authenticate(dark.page, 'sign-in', 'alice', PASSWORD);
      await waitOnline(dark.page);
      await waitForMessage(dark.page, 'See you there 🙌');
      await send(dark.page, '我马上到');
      await send(dark.page, '这条没有发出去');
      await until(async () => (await dark.page.locator('[data-status="failed"]').count()) === 1, 'the failed send');
      await shoot(dark.page, 'a11y-send-states-dark-zh', 'dark', 'zh-CN');

      // The sign-in tabs, moved with the arrow keys.
      await signIn.page.locator('#auth-form').waitFor();
      await tabTo(signIn.page, '[role="tab"][aria-selected="true"]');
      await signIn.page.keyboard.press('ArrowRight');
      await shoot(signIn.page, 'a11y-signin-tabs-dark-en', 'dark', 'en');
    } finally {
      for (const opened of [light, dark, signIn]) await opened.context.close();
      for (const client of live) client.close();
    }
  },
};
