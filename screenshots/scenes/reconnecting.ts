import { DESKTOP, authenticate, send, signUp, until, waitForMessage, waitOnline } from '../../test/e2e/support/browser.ts';
import { cuttableNetwork } from '../../test/e2e/support/network.ts';
import type { Scene } from '../stage.ts';

const PASSWORD = 'correct horse battery';

/** The banner while the connection is down, with a message typed offline waiting to be sent. */
export const reconnectingScene: Scene = {
  name: 'reconnecting',
  async run({ server, browser, shoot }) {
    const carol = await signUp(browser, server.url, 'carol', PASSWORD);
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    try {
      const network = await cuttableNetwork(context);
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'dave', PASSWORD);
      await waitOnline(page);
      await send(carol.page, 'while you were here');
      await waitForMessage(page, 'while you were here');
      await network.down();
      await until(async () => (await page.getByTestId('connection-banner').getAttribute('data-state')) === 'reconnecting', 'the banner');
      await send(page, 'typed while offline');
      await page.locator('[data-testid="message"][data-status="sending"]').filter({ hasText: 'typed while offline' }).waitFor();
      await shoot(page, 'desktop-light-en-reconnecting', 'light', 'en');
    } finally {
      await context.close();
      await carol.context.close();
    }
  },
};
