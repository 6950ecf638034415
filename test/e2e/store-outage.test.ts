import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, privatePostgres } from '../support/postgres.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { close, hasChromium, messageTexts, send, signUp, until, waitForMessage, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/**
 * The web client on a server whose PostgreSQL the test stops and starts again: the connection
 * stays up, but nothing can be stored. The message stays "sending", a polite status line says
 * why, and once the database is back the message goes out by itself, once, and the line is gone.
 */
describe.skipIf(!hasChromium || !hasPostgres)('the web client while the server cannot reach its database', () => {
  const postgres = privatePostgres();
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--database', await postgres().createDatabase()]));
  }, 240_000);

  afterAll(async () => {
    await stopWebTestbed(browser, server);
  });

  it('keeps the message "sending" under a polite notice while PostgreSQL is away, then sends it once by itself and clears the notice', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      [alice, bob] = await Promise.all([signUp(browser, server.url, 'alice', PASSWORD), signUp(browser, server.url, 'bob', PASSWORD)]);
      await send(alice.page, 'before the outage');
      await waitForMessage(bob.page, 'before the outage');

      await postgres().stop('fast');
      await send(alice.page, 'while the database is away');
      const banner = alice.page.getByTestId('connection-banner');
      await until(async () => (await banner.getAttribute('data-state')) === 'store-delayed', 'the store notice', 10_000);
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.getAttribute('role')).toBe('status');
      expect(await banner.getAttribute('aria-live')).toBe('polite');
      expect(await banner.innerText()).toContain('cannot reach its database');
      const row = alice.page.getByTestId('message').filter({ hasText: 'while the database is away' });
      expect(await row.getAttribute('data-status')).toBe('sending');
      // Still "sending" after a retry was refused: the client never gives up on its own.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await row.getAttribute('data-status')).toBe('sending');
      expect(await alice.page.getByTestId('retry').count()).toBe(0);

      await postgres().restart();
      await waitForMessage(bob.page, 'while the database is away', 30_000);
      await until(async () => (await banner.getAttribute('data-state')) === 'online', 'the notice to go', 10_000);
      expect(await banner.isVisible()).toBe(false);
      const sending = alice.page.locator('[data-testid="message"][data-status="sending"]');
      await until(async () => (await sending.count()) === 0, 'the message to be confirmed');
      for (const page of [alice.page, bob.page]) {
        const texts = await messageTexts(page);
        expect(texts.filter((text) => text === 'while the database is away')).toHaveLength(1);
        expect(texts.indexOf('before the outage')).toBeLessThan(texts.indexOf('while the database is away'));
      }
    } finally {
      await close(alice, bob);
      await postgres().restart();
    }
  }, 90_000);
});
