import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { close, DESKTOP, hasChromium, send, signUp, until, waitForMessage, waitOnline, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/** Everything a page reports as going wrong: console errors (a 4xx/5xx answer logs one), uncaught errors, failed or aborted requests. */
function recordTrouble(page: Page): string[] {
  const trouble: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => trouble.push(`uncaught: ${error.message}`));
  page.on('requestfailed', async (request) => {
    const failure = request.failure()?.errorText ?? '';
    // Under load Chromium may report a streamed download as aborted after its answer came and
    // every byte was read (seen: a 200, the bytes hashed and confirmed delivered, then
    // ERR_ABORTED 12 ms later). An abort without an answer, or after an error answer, counts.
    if (failure === 'net::ERR_ABORTED' && (await request.response().catch(() => null))?.ok()) return;
    trouble.push(`failed: ${request.method()} ${request.url()} ${failure}`);
  });
  return trouble;
}

/** For each message text on screen, the fonts Chromium drew it with (DevTools protocol, as the Fonts pane shows). */
async function fontsOfMessages(page: Page): Promise<Map<string, string[]>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: '[data-testid="message-text"]' });
  const result = new Map<string, string[]>();
  for (const nodeId of nodeIds) {
    const { object } = await cdp.send('DOM.resolveNode', { nodeId });
    const text = await cdp.send('Runtime.callFunctionOn', { objectId: object.objectId!, functionDeclaration: 'function () { return this.innerText.trim(); }', returnByValue: true });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    result.set(String(text.result.value), fonts.map((font) => font.familyName));
  }
  await cdp.detach();
  return result;
}

/** The defect shows only where both kinds of font are installed (Debian: fonts-noto-color-emoji, fonts-noto-cjk). */
const hasEmojiAndCjkFonts = (() => {
  try {
    const families = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' });
    return families.includes('Noto Color Emoji') && families.includes('Noto Sans CJK SC');
  } catch {
    return false;
  }
})();

// CI installs both (.ci/run): there a missing one fails the test instead of skipping it.
const fontsRequired = /^(true|1)$/i.test(process.env.CI ?? '');
if (!hasEmojiAndCjkFonts && !fontsRequired) console.warn('\n!! Noto Color Emoji or Noto Sans CJK SC is missing: the emoji rendering test is SKIPPED (Debian: apt-get install fonts-noto-color-emoji fonts-noto-cjk).\n');

const cardOf = (page: Page, name: string) => page.getByTestId('file-card').filter({ has: page.getByTestId('file-name').getByText(name, { exact: true }) });

describe.skipIf(!hasChromium)('a first run of the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('logs no error in the console on a normal load, sign-up, reload and file transfer', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      // A first visit, signed out: asking for the session is not an error.
      const visitor = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
      const page = await visitor.newPage();
      const seen = recordTrouble(page);
      await page.goto(server.url);
      await page.locator('#auth-form').waitFor();
      await page.waitForLoadState('networkidle');
      expect(seen).toEqual([]);
      await visitor.close();

      [alice, bob] = await Promise.all([signUp(browser, server.url, 'alice', PASSWORD), signUp(browser, server.url, 'bob', PASSWORD)]);
      const trouble = [...[alice, bob].map((person) => recordTrouble(person.page))];
      await Promise.all([alice.page.reload(), bob.page.reload()]);
      await Promise.all([waitOnline(alice.page), waitOnline(bob.page)]);

      await alice.page.locator('.online-list button[data-user="bob"]').click();
      await until(async () => (await alice!.page.getByTestId('chat-title').textContent()) === 'bob', 'the DM with bob');
      await alice.page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.alloc(200_000, 'x') });
      await bob.page.locator('a.conv-item').filter({ hasText: 'alice' }).click();
      const download = bob.page.waitForEvent('download', { timeout: 30_000 });
      await cardOf(bob.page, 'notes.txt').getByRole('button', { name: 'Accept' }).click();
      await download;
      await until(async () => (await cardOf(alice!.page, 'notes.txt').getByTestId('file-detail').textContent()) === 'bob received it', 'alice to see the delivery', 15_000);
      expect(trouble).toEqual([[], []]);
    } finally {
      await close(alice, bob);
    }
  });

  it.skipIf(!hasEmojiAndCjkFonts && !fontsRequired)('draws emoji in colour though a CJK font with black-and-white emoji comes earlier in the stack, and digits in a text font', async () => {
    expect(hasEmojiAndCjkFonts, 'Noto Color Emoji and Noto Sans CJK SC installed (CI is set)').toBe(true);
    let dan: Person | undefined;
    try {
      dan = await signUp(browser, server.url, 'dan', PASSWORD);
      await send(dan.page, '❤☺✔⭐☀😀');
      await send(dan.page, '2026 #1 *');
      await waitForMessage(dan.page, '2026 #1 *');
      const fonts = await fontsOfMessages(dan.page);
      expect(fonts.get('❤☺✔⭐☀😀')).toEqual(['Noto Color Emoji']);
      expect(fonts.get('2026 #1 *')).not.toContain('Noto Color Emoji');
    } finally {
      await close(dan);
    }
  });

  it('a new tab opened while the server cannot be reached says it is retrying, keeps the session, and signs in by itself', async () => {
    let carol: Person | undefined;
    try {
      carol = await signUp(browser, server.url, 'carol', PASSWORD);
      // The page itself loads (as from the cache), but every question to the server fails.
      let refused = 0;
      await carol.context.route('**/api/**', (route) => {
        refused++;
        return route.abort('connectionrefused');
      });
      const tab = await carol.context.newPage();
      await tab.goto(server.url);
      const note = tab.getByTestId('boot-unreachable');
      await note.waitFor();
      expect(await note.textContent()).toBe('Cannot reach the server. Retrying…');
      expect(await tab.locator('#auth-form').count()).toBe(0);
      await until(() => refused >= 2, 'a second try');
      expect(await tab.locator('#auth-form').count()).toBe(0);

      await carol.context.unrouteAll();
      await until(async () => (await tab.getByTestId('me').count()) === 1, 'the tab to sign in by itself', 20_000);
      expect(await tab.getByTestId('me').textContent()).toBe('carol');
      await waitOnline(tab);
    } finally {
      await close(carol);
    }
  });
});
