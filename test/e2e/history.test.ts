import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser } from '../support/clients.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { close, hasChromium, signUp, until, waitForMessage, type Person } from './support/browser.ts';

const TOTAL = 1200;
const label = (n: number) => `message ${String(n).padStart(4, '0')}`;

/** The first message at least partly in view: its text and where it is relative to the list's top edge. */
function firstVisible(page: Page) {
  return page.evaluate(() => {
    const list = document.querySelector('.vlist')!;
    const top = list.getBoundingClientRect().top;
    for (const node of document.querySelectorAll('[data-testid="message"]')) {
      const box = node.getBoundingClientRect();
      if (box.bottom > top + 1) return { text: node.querySelector('[data-testid="message-text"]')!.textContent!, y: box.top - top };
    }
    return null;
  });
}

/** The number of the oldest message in the page (rendered or not on screen). */
async function oldestRendered(page: Page): Promise<number> {
  const text = await page.locator('[data-testid="message-text"]').first().textContent();
  return Number(/^message (\d+)/.exec(text ?? '')?.[1] ?? Infinity);
}

/** Two animation frames: whatever the client adjusts after rendering (scroll position) is done. */
function nextFrames(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

function positionOf(page: Page, text: string) {
  return page.evaluate((wanted) => {
    const list = document.querySelector('.vlist')!;
    for (const node of document.querySelectorAll('[data-testid="message"]')) {
      if (node.querySelector('[data-testid="message-text"]')!.textContent === wanted) return node.getBoundingClientRect().top - list.getBoundingClientRect().top;
    }
    return null;
  }, text);
}

/**
 * Scrolls the list to its top with the mouse wheel, as a reader would (the list only leaves the
 * bottom for wheel, touch or key input), and waits for the smooth scroll to come to rest.
 */
async function wheelToTop(page: Page) {
  const box = (await page.locator('.vlist').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -100_000);
  let last = -1;
  await until(async () => {
    const top = await page.locator('.vlist').evaluate((list) => list.scrollTop);
    const still = top === last;
    last = top;
    return still;
  }, 'the wheel scroll to come to rest');
}

describe.skipIf(!hasChromium)('a very long conversation in the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--send-rate', '100000', '--send-burst', '100000', '--durability', 'normal']));
    // Seeded through the protocol, as a busy room would be: several senders, multi-line texts.
    const writers = await Promise.all(['ann', 'ben', 'cat'].map((name) => registerUser(server.url, name)));
    const sessions = await Promise.all(writers.map((w) => connect(w.api)));
    // Runs of three from one sender; a run is pipelined on one connection, so seq order is n order.
    for (let n = 1; n <= TOTAL; n += 3) {
      const { session } = sessions[Math.floor(n / 3) % 3]!;
      const run = [n, n + 1, n + 2].filter((k) => k <= TOTAL);
      await Promise.all(run.map((k) => session.send('world', k % 7 === 0 ? `${label(k)}\nwith a second line\nand a third` : label(k))));
    }
    for (const s of sessions) s.close();
  }, 240_000);

  afterAll(async () => {
    await stopWebTestbed(browser, server);
  });

  it('opens at the newest page, pages back to the first message without jumping, and keeps only what is on screen in the page', async () => {
    let reader: Person | undefined;
    try {
      reader = await signUp(browser, server.url, 'reader', 'correct horse battery');
      const { page } = reader;
      await waitForMessage(page, label(TOTAL));
      const rendered = () => page.locator('[data-testid="message"]').count();
      // Each older page is held until the test lets it through, so what is on screen is noted before it lands.
      const held: (() => void)[] = [];
      let requested = 0;
      await page.route('**/api/conversations/**', async (route) => {
        requested += 1;
        await new Promise<void>((release) => held.push(release));
        await route.continue();
      });
      const atStart = async () => (await page.locator('.history-start').count()) > 0;
      let most = await rendered();
      let pages = 0;
      for (;;) {
        const before = requested;
        await wheelToTop(page);
        await until(async () => requested > before || (await atStart()), 'an older page to be asked for, or the start of the history').catch(async (error: Error) => {
          const state = await page.locator('.vlist').evaluate((list) => ({ top: list.scrollTop, height: list.scrollHeight, first: list.querySelector('[data-testid="message-text"]')?.textContent }));
          throw new Error(`${error.message} (after ${pages} pages; list ${JSON.stringify(state)})`);
        });
        if (requested === before) break;
        const anchor = await firstVisible(page);
        expect(anchor).not.toBeNull();
        const oldestBefore = await oldestRendered(page);
        await until(() => held.length > 0, 'the request to reach the route');
        held.shift()!();
        await until(async () => (await oldestRendered(page)) < oldestBefore, 'the older page on screen');
        await nextFrames(page);
        const after = await positionOf(page, anchor!.text);
        expect(after, `${anchor!.text} stays on screen`).not.toBeNull();
        expect(Math.abs(after! - anchor!.y), `${anchor!.text} does not jump (was at ${anchor!.y}, now ${after})`).toBeLessThan(2);
        most = Math.max(most, await rendered());
        pages += 1;
        if (pages > TOTAL / 50 + 5) throw new Error('paged more than there is');
      }
      expect((await firstVisible(page))?.text).toBe(label(1));
      expect(pages).toBeGreaterThanOrEqual(Math.floor(TOTAL / 50) - 2);
      // All 1200 are held, yet only a screenful (plus a margin) is in the DOM.
      expect(most).toBeLessThan(90);
      expect(await page.locator('.history-start').count()).toBe(1);
    } finally {
      await close(reader);
    }
  });
});
