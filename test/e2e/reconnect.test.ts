import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { cuttableNetwork } from './support/network.ts';
import { close, hasChromium, messageTexts, passMarker, send, signUp, until, waitForMessage, waitOnline, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/** Records every state the connection banner shows, so a short-lived "reconnecting" is not missed. */
async function recordBanner(page: Page): Promise<void> {
  await page.evaluate(() => {
    const banner = document.querySelector('[data-testid="connection-banner"]')!;
    const w = window as unknown as { __banner: { state: string; visible: boolean; text: string }[] };
    w.__banner = [];
    const note = () => {
      const style = getComputedStyle(banner);
      w.__banner.push({ state: banner.getAttribute('data-state') ?? '', visible: style.display !== 'none', text: banner.textContent ?? '' });
    };
    new MutationObserver(note).observe(banner, { attributes: true, childList: true, subtree: true, characterData: true });
  });
}

const bannerHistory = (page: Page) =>
  page.evaluate(() => (window as unknown as { __banner: { state: string; visible: boolean; text: string }[] }).__banner);

const count = (texts: string[], text: string) => texts.filter((t) => t === text).length;

describe.skipIf(!hasChromium)('the web client when the connection drops', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('after a server restart both show "reconnecting", reconnect, and a message sent right after reaches bob exactly once', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      [alice, bob] = await Promise.all([signUp(browser, server.url, 'alice', PASSWORD), signUp(browser, server.url, 'bob', PASSWORD)]);
      await send(alice.page, 'before the restart');
      await waitForMessage(bob.page, 'before the restart');
      await Promise.all([recordBanner(alice.page), recordBanner(bob.page)]);

      await server.restart();
      // Sent at once: the client holds it until it is connected again, then sends it.
      await send(alice.page, 'right after the restart');

      for (const person of [alice, bob]) {
        await waitOnline(person.page);
        const seen = await bannerHistory(person.page);
        const reconnecting = seen.find((entry) => entry.state === 'reconnecting');
        expect(reconnecting, `${person.name} showed the reconnecting banner`).toBeDefined();
        expect(reconnecting!.visible).toBe(true);
        expect(reconnecting!.text).toContain('Reconnecting');
      }
      await waitForMessage(bob.page, 'right after the restart');
      await passMarker(alice.page, [alice.page, bob.page], 'marker after the restart');
      const bobSees = await messageTexts(bob.page);
      expect(count(bobSees, 'right after the restart')).toBe(1);
      expect(count(bobSees, 'before the restart')).toBe(1);
      expect(bobSees.indexOf('before the restart')).toBeLessThan(bobSees.indexOf('right after the restart'));
      expect(count(await messageTexts(alice.page), 'right after the restart')).toBe(1);
    } finally {
      await close(alice, bob);
    }
  });

  it('what others sent while you were offline arrives in order, once; what you typed offline is sent when back', async () => {
    let carol: Person | undefined, dave: Person | undefined;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    try {
      carol = await signUp(browser, server.url, 'carol', PASSWORD);
      const network = await cuttableNetwork(context);
      // dave's timers run on a clock the test can stop (it runs in real time until then).
      await context.clock.install();
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator('#auth-form').waitFor();
      await page.getByRole('tab').nth(1).click();
      await page.locator('input[name="name"]').fill('dave');
      await page.locator('input[name="password"]').fill(PASSWORD);
      await page.getByTestId('auth-submit').click();
      await waitOnline(page);
      dave = { name: 'dave', context, page, pwned: [] };
      await send(carol.page, 'while you were here');
      await waitForMessage(page, 'while you were here');

      // dave's clock stands still from here, so the client waits for a backoff timer that never
      // fires: nothing but "Retry now" can bring the connection back.
      // (Its time jumps 5 s ahead to get there: pausing takes a moment in the future, and the page is idle.)
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 5000);
      await network.down();
      await until(async () => (await page.getByTestId('connection-banner').getAttribute('data-state')) === 'reconnecting', 'the banner');
      expect(await page.getByTestId('connection-banner').textContent()).toContain('Reconnecting');
      for (const n of [1, 2, 3]) await send(carol.page, `missed ${n}`);
      await send(page, 'typed while offline');
      await page.locator('[data-testid="message"][data-status="sending"]').filter({ hasText: 'typed while offline' }).waitFor();

      network.up();
      // The backoff wait can never end by itself (the clock stands still): "Retry now" reconnects.
      await page.getByRole('button', { name: 'Retry now' }).click();
      await waitOnline(page);
      await page.clock.resume();
      await waitForMessage(page, 'missed 3');
      await waitForMessage(carol.page, 'typed while offline');
      await passMarker(carol.page, [carol.page, page], 'marker after the reconnect');
      const daveSees = await messageTexts(page);
      expect(daveSees.filter((text) => text.startsWith('missed '))).toEqual(['missed 1', 'missed 2', 'missed 3']);
      expect(count(daveSees, 'typed while offline')).toBe(1);
      expect(count(await messageTexts(carol.page), 'typed while offline')).toBe(1);
      await until(async () => (await page.locator('[data-testid="message"][data-status="sending"]').count()) === 0, 'the queued message to be confirmed');
    } finally {
      await close(carol, dave);
      await context.close().catch(() => {});
    }
  });
});
