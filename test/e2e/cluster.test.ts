import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, privatePostgres } from '../support/postgres.ts';
import { hasRedis, privateRedis } from '../support/redis.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { WEB_ROOT, ensureBuiltClient } from './support/build.ts';
import { authenticate, close, hasChromium, launchBrowser, messageTexts, send, signUp, unreadBadge, until, waitForMessage, waitOnline, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The sidebar entry of the DM with `peer`. */
const dmWith = (page: Page, peer: string) => page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: new RegExp(`^${peer}$`) }) });
const onlineEntry = (page: Page, name: string) => page.locator(`.online-list button[data-user="${name}"]`);

/**
 * The built web client on two cluster nodes (one private PostgreSQL, one private Redis), each
 * person's tab on a different node: what a community behind a load balancer without sticky
 * sessions gets. Everything a person sees of another must have crossed Redis, and every read
 * (history, unread counts, the file's bytes) comes from the shared database.
 */
describe.skipIf(!hasChromium || !hasPostgres || !hasRedis)('the web client on two cluster nodes', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  let nodes: TestServer[] = [];
  let browser: Browser;

  beforeAll(async () => {
    await ensureBuiltClient();
    const database = await postgres().createDatabase();
    nodes = await Promise.all([0, 1].map(() => startTestServer({ webRoot: WEB_ROOT, flags: ['--database', database, '--redis', redis().url] })));
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('alice on one node and bob on the other: world and DM messages, presence, the unread badge and a file all cross', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      [alice, bob] = await Promise.all([signUp(browser, nodes[0]!.url, 'alice', PASSWORD), signUp(browser, nodes[1]!.url, 'bob', PASSWORD)]);

      // Presence is cluster-wide: each sees the other online, though neither node holds both.
      await until(async () => (await onlineEntry(alice!.page, 'bob').count()) === 1, 'bob online on alice\'s node');
      await until(async () => (await onlineEntry(bob!.page, 'alice').count()) === 1, 'alice online on bob\'s node');

      await send(alice.page, 'hello from node one');
      await waitForMessage(bob.page, 'hello from node one');
      await send(bob.page, 'and hello from node two');
      await waitForMessage(alice.page, 'and hello from node two');
      for (const page of [alice.page, bob.page]) expect(await messageTexts(page)).toEqual(['hello from node one', 'and hello from node two']);

      // A DM from the online list; bob's badge counts it; reading it clears the badge on his node.
      await onlineEntry(alice.page, 'bob').click();
      await until(async () => (await alice!.page.getByTestId('chat-title').textContent()) === 'bob', 'the DM with bob to open');
      await send(alice.page, 'a private word across nodes');
      await until(async () => (await dmWith(bob!.page, 'alice').count()) === 1, "the DM in bob's sidebar");
      const conv = (await dmWith(bob.page, 'alice').getAttribute('data-conv'))!;
      await until(async () => (await unreadBadge(bob!.page, conv)) === '1', "bob's unread badge");
      await dmWith(bob.page, 'alice').click();
      await waitForMessage(bob.page, 'a private word across nodes');
      await until(async () => (await unreadBadge(bob!.page, conv)) === null, 'the badge to clear');

      // A file: offered through node one, accepted and downloaded through node two, bytes intact.
      const original = randomBytes(200 * 1024);
      await alice.page.getByTestId('file-input').setInputFiles({ name: 'slides.pdf', mimeType: 'application/pdf', buffer: original });
      const bobCard = bob.page.getByTestId('file-card').filter({ hasText: 'slides.pdf' });
      await until(async () => (await bobCard.count()) === 1 && (await bobCard.getAttribute('data-state')) === 'offered', 'bob to see the offer');
      const download = bob.page.waitForEvent('download', { timeout: 30_000 });
      await bobCard.getByRole('button', { name: 'Accept' }).click();
      const bytes = await readFile((await (await download).path())!);
      expect(sha256(bytes)).toBe(sha256(original));
      const aliceCard = alice.page.getByTestId('file-card').filter({ hasText: 'slides.pdf' });
      await until(async () => (await aliceCard.getByTestId('file-detail').textContent()) === 'bob received it', 'alice to learn bob has it', 15_000);

      // A reload on the other node shows the same history, from the shared database.
      await bob.page.goto(`${nodes[0]!.url}/#/c/${encodeURIComponent(conv)}`);
      await waitOnline(bob.page);
      await waitForMessage(bob.page, 'a private word across nodes');
      expect(await bob.page.getByTestId('file-card').filter({ hasText: 'slides.pdf' }).getAttribute('data-state')).toBe('completed');

      // bob leaves: alice's node hears it and takes him off the list.
      await bob.context.close();
      bob = undefined;
      await until(async () => (await onlineEntry(alice!.page, 'bob').count()) === 0, 'bob to go offline on alice\'s node', 15_000);
    } finally {
      await close(alice, bob);
    }
  });

  it('signing out in a tab on one node signs the same session out of its tab on the other node', async () => {
    let carol: Person | undefined;
    try {
      carol = await signUp(browser, nodes[0]!.url, 'carol', PASSWORD);
      // The same browser profile (so the same session cookie: cookies do not depend on the port) on the other node.
      const other = await carol.context.newPage();
      await other.goto(nodes[1]!.url);
      await waitOnline(other);
      expect(await other.getByTestId('me').textContent()).toBe('carol');

      await carol.page.getByTestId('sign-out').click();
      await carol.page.locator('#auth-form').waitFor();
      // The other node closes that session's socket and the tab falls back to the sign-in screen.
      await other.locator('#auth-form').waitFor({ timeout: 15_000 });
      expect((await other.request.get(`${nodes[1]!.url}/api/me`)).status()).toBe(401);

      // Signing in again on the second node starts a new session that both nodes accept.
      await authenticate(other, 'sign-in', 'carol', PASSWORD);
      await waitOnline(other);
      expect((await carol.page.request.get(`${nodes[0]!.url}/api/me`)).status()).toBe(200);
    } finally {
      await close(carol);
    }
  });
});
