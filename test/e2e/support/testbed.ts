import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { launchBrowser } from './browser.ts';
import { WEB_ROOT, ensureBuiltClient } from './build.ts';

/** What an end-to-end suite runs against: the built client, served by a real server, and Chromium. */
export async function startWebTestbed(flags: string[] = []): Promise<{ server: TestServer; browser: Browser }> {
  await ensureBuiltClient();
  const server = await startTestServer({ webRoot: WEB_ROOT, flags, restartable: true });
  return { server, browser: await launchBrowser() };
}

/** Closes what `startWebTestbed` started (either may be missing when its start failed). */
export async function stopWebTestbed(browser: Browser | undefined, server: TestServer | undefined): Promise<void> {
  await browser?.close();
  await server?.close();
}
