import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { close, hasChromium, send, signUp, until, type Person } from './support/browser.ts';

describe.skipIf(!hasChromium)('your own data, from the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('the download button in the user bar saves your account and messages as NDJSON', async () => {
    let alice: Person | undefined;
    try {
      alice = await signUp(browser, server.url, 'alice', 'correct horse battery');
      await send(alice.page, 'a message worth keeping');
      await until(async () => (await alice!.page.locator('[data-testid="message"][data-status="sent"]').count()) === 1, 'the server to store it');

      const button = alice.page.getByTestId('download-data');
      expect(await button.getAttribute('aria-label')).toBe('Download my data (account, conversations, messages, file details)');
      const [download] = await Promise.all([alice.page.waitForEvent('download'), button.click()]);
      expect(download.suggestedFilename()).toMatch(/^parley-alice-\d{4}-\d{2}-\d{2}\.ndjson$/);
      const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ type: 'user', name: 'alice' }));
      expect(lines).toContainEqual(expect.objectContaining({ type: 'message', text: 'a message worth keeping' }));
    } finally {
      await close(alice);
    }
  });
});
