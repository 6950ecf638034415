import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser, type Client } from '../support/clients.ts';
import type { TestServer } from '../support/server.ts';
import { dmId } from '../../src/protocol/conversations.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { DESKTOP, authenticate, conversationLink, hasChromium, until, waitForMessage, waitOnline } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const WORLD_MESSAGES = 80;
const DM_MESSAGES = 500;
const BURST = 1000;

interface Shift {
  value: number;
  hadRecentInput: boolean;
  sources: string[];
}

/**
 * Records every layout shift from the first paint on. CLS leaves out shifts within 500 ms of a
 * click; these tests count those too, so opening a conversation by clicking it is judged whole.
 */
async function recordShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __shifts: Shift[] };
    w.__shifts = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean; sources?: { node?: Node }[] }[]) {
        w.__shifts.push({
          value: entry.value,
          hadRecentInput: entry.hadRecentInput,
          sources: (entry.sources ?? []).map((source) => {
            const node = source.node as HTMLElement | undefined;
            return node ? `${node.nodeName.toLowerCase()}.${String(node.className ?? '').replace(/\s+/g, '.')}` : '?';
          }),
        });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
}

const shifts = (page: Page) => page.evaluate(() => (window as unknown as { __shifts: Shift[] }).__shifts);
const total = (list: Shift[]) => list.reduce((sum, shift) => sum + shift.value, 0);

/** Waits until no layout shift has happened for a while (the list has settled), then returns them all. */
async function settledShifts(page: Page): Promise<Shift[]> {
  let last = -1;
  let quietSince = Date.now();
  await until(async () => {
    const count = (await shifts(page)).length;
    if (count !== last) {
      last = count;
      quietSince = Date.now();
    }
    return Date.now() - quietSince > 800;
  }, 'the layout to settle', 20_000);
  return shifts(page);
}

/** The first message at least partly in view, and where its top is relative to the list's. */
function firstInView(page: Page) {
  return page.evaluate(() => {
    const list = document.querySelector('.vlist')!.getBoundingClientRect();
    for (const node of document.querySelectorAll('[data-testid="message"]')) {
      const box = node.getBoundingClientRect();
      if (box.bottom > list.top + 1) return { text: node.querySelector('[data-testid="message-text"]')?.textContent ?? '', y: box.top - list.top };
    }
    return { text: '', y: 0 };
  });
}

/** Where the list is scrolled to, and where the newest message sits in it. */
function bottomState(page: Page) {
  return page.evaluate(() => {
    const list = document.querySelector('.vlist')!;
    const box = list.getBoundingClientRect();
    const texts = [...document.querySelectorAll('[data-testid="message-text"]')];
    const last = texts.at(-1)?.closest('[data-testid="message"]')?.getBoundingClientRect();
    return {
      fromBottom: list.scrollHeight - list.scrollTop - list.clientHeight,
      lastText: texts.at(-1)?.textContent ?? null,
      lastVisible: !!last && last.top >= box.top && last.bottom <= box.bottom + 1,
    };
  });
}

describe.skipIf(!hasChromium)('the message list stays steady: no layout jumps, and at the bottom through a burst', () => {
  let server: TestServer;
  let browser: Browser;
  let reader: Awaited<ReturnType<BrowserContext['storageState']>>;
  let bob: Client;
  let dm: string;
  let burstNumber = 0;
  /** The newest message of the DM, whichever test sent it. */
  let newest = 'the last direct message';

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--send-rate', '100000', '--send-burst', '100000', '--durability', 'normal']));
    const [me, writer, ann] = await Promise.all(['reader', 'bob', 'ann'].map((name) => registerUser(server.url, name, PASSWORD)));
    dm = dmId(me!.user.id, writer!.user.id);
    bob = await connect(writer!.api);
    const annLive = await connect(ann!.api);
    for (let n = 1; n <= WORLD_MESSAGES; n += 4) {
      const session = n % 8 === 1 ? bob.session : annLive.session;
      await Promise.all([0, 1, 2, 3].map((k) => session.send('world', n + k === WORLD_MESSAGES ? 'the last world message' : `world message ${n + k}${k === 2 ? '\nwith a second line' : ''}`)));
    }
    annLive.close();
    for (let n = 1; n <= DM_MESSAGES; n += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => bob.session.send(dm, n + k === DM_MESSAGES ? 'the last direct message' : `direct message ${n + k}`)));
    }
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(server.url);
    await authenticate(page, 'sign-in', 'reader', PASSWORD);
    await waitOnline(page);
    reader = await context.storageState();
    await context.close();
  }, 240_000);

  afterAll(async () => {
    bob?.close();
    await stopWebTestbed(browser, server);
  });

  const openReader = async () => {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: reader });
    await recordShifts(context);
    const page = await context.newPage();
    return { context, page };
  };

  it('opening the world chat shifts the layout by less than 0.1 in all (its "Loading earlier messages…" row included)', async () => {
    const { context, page } = await openReader();
    try {
      await page.goto(`${server.url}/#/c/world`);
      await waitForMessage(page, 'the last world message');
      const all = await settledShifts(page);
      expect(total(all), JSON.stringify(all)).toBeLessThan(0.1);
      expect((await bottomState(page)).lastVisible).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('opening a 500-message direct conversation from the sidebar shifts the layout by less than 0.1 in all', async () => {
    const { context, page } = await openReader();
    try {
      await page.goto(`${server.url}/#/c/world`);
      await waitForMessage(page, 'the last world message');
      await settledShifts(page);
      await page.evaluate(() => ((window as unknown as { __shifts: Shift[] }).__shifts = []));
      await conversationLink(page, dm).click();
      await waitForMessage(page, 'the last direct message');
      const all = await settledShifts(page);
      expect(total(all), JSON.stringify(all)).toBeLessThan(0.1);
      expect((await bottomState(page)).lastVisible).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('the reader scrolling up with the wheel while messages arrive stays where they scrolled; "Jump to latest" brings them back and keeps the focus on the list', async () => {
    const { context, page } = await openReader();
    try {
      await page.goto(`${server.url}/#/c/${dm}`);
      await waitForMessage(page, newest);
      // A steady stream: a message every 40 ms while the reader scrolls up.
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          newest = `stream ${++burstNumber}`;
          await bob.session.send(dm, newest);
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
      })();
      try {
        const box = (await page.locator('.vlist').boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.wheel(0, -600);
        await until(async () => (await page.locator('.jump-latest').count()) === 1, '"Jump to latest" after scrolling up');
        let last = '';
        await until(async () => {
          const now = JSON.stringify(await firstInView(page));
          const still = now === last;
          last = now;
          return still;
        }, 'the wheel scroll to come to rest');
        const before = await firstInView(page);
        const arrived = burstNumber;
        // The sidebar's preview shows what the page has taken in (the newest rows are not drawn up here).
        const preview = conversationLink(page, dm).locator('.conv-preview');
        await until(async () => Number(/stream (\d+)/.exec((await preview.textContent()) ?? '')?.[1] ?? 0) >= arrived + 20, 'twenty more messages taken in');
        const after = await firstInView(page);
        expect(after.text, 'the message at the top of the view is the same').toBe(before.text);
        expect(Math.abs(after.y - before.y)).toBeLessThan(2);
      } finally {
        streaming = false;
        await stream;
      }
      await page.locator('.jump-latest').click();
      await until(async () => (await bottomState(page)).lastText === `stream ${burstNumber}`, 'the newest message after "Jump to latest"');
      expect((await bottomState(page)).lastVisible).toBe(true);
      expect(await page.locator('.jump-latest').count()).toBe(0);
      expect(await page.evaluate(() => document.activeElement?.classList.contains('vlist'))).toBe(true);
    } finally {
      await context.close();
    }
  });

  // The same burst on a CPU slowed four times (as on a cheap phone): the list falls behind, and must still only follow.
  for (const slowdown of [1, 4]) {
    it(`a burst of 1,000 messages in one second to the open conversation ends with the last one visible at the bottom, and "Jump to latest" never appears${slowdown > 1 ? ` (CPU slowed ${slowdown}×)` : ''}`, async () => {
      const { context, page } = await openReader();
      try {
        await page.goto(`${server.url}/#/c/${dm}`);
        await waitForMessage(page, newest);
        await (await context.newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: slowdown });
        await page.evaluate(() => {
          const w = window as unknown as { __jumpSeen: boolean };
          w.__jumpSeen = false;
          new MutationObserver(() => {
            if (document.querySelector('.jump-latest')) w.__jumpSeen = true;
          }).observe(document.body, { childList: true, subtree: true });
        });
        const first = burstNumber;
        const started = Date.now();
        // Ten batches of 100, a tenth of a second apart: 1,000 messages in one second.
        for (let batch = 0; batch < 10; batch++) {
          const due = started + batch * 100;
          if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
          for (let k = 0; k < 100; k++) void bob.session.send(dm, (newest = `burst ${++burstNumber}`));
        }
        const last = `burst ${first + BURST}`;
        await until(async () => (await bottomState(page)).lastText === last, 'the last message of the burst on screen', 90_000).catch(async (error: Error) => {
          throw new Error(`${error.message}: ${JSON.stringify(await bottomState(page))}, "Jump to latest" shown: ${await page.locator('.jump-latest').count()}`);
        });
        const state = await bottomState(page);
        expect(state.lastVisible).toBe(true);
        expect(state.fromBottom).toBeLessThan(2);
        expect(await page.evaluate(() => (window as unknown as { __jumpSeen: boolean }).__jumpSeen)).toBe(false);
      } finally {
        await context.close();
      }
    }, 120_000);
  }
});
