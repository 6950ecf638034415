import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Locator, Page, Route, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHoldingProxy } from '../support/proxy.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { close, flushPwned, hasChromium, send, signUp, unreadBadge, until, waitForMessage, waitOnline, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The sidebar entry of the DM with `peer`. */
const dmWith = (page: Page, peer: string) => page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: new RegExp(`^${peer}$`) }) });

/** The card of the file called exactly `name` in the open conversation. */
const cardOf = (page: Page, name: string) => page.getByTestId('file-card').filter({ has: page.getByTestId('file-name').getByText(name, { exact: true }) });

async function stateOf(card: Locator): Promise<string | null> {
  return (await card.count()) === 1 ? card.getAttribute('data-state') : null;
}

async function statusOf(card: Locator): Promise<string> {
  return (await card.count()) === 1 ? ((await card.getByTestId('file-status').textContent()) ?? '') : '';
}

/** alice opens the DM with `peer` from the online list; resolves with its conversation id. */
async function openDm(person: Person, peer: string): Promise<string> {
  await person.page.locator(`.online-list button[data-user="${peer}"]`).click();
  await until(async () => (await person.page.getByTestId('chat-title').textContent()) === peer, `the DM with ${peer} to open`);
  return decodeURIComponent(new URL(person.page.url()).hash.replace(/^#\/c\//, ''));
}

/** Files dropped on the chat pane, as a person dragging them from the desktop would. */
async function dropFiles(page: Page, files: { name: string; text: string }[]): Promise<void> {
  await page.evaluate((files) => {
    const data = new DataTransfer();
    for (const { name, text } of files) data.items.add(new File([text], name, { type: 'text/plain' }));
    const pane = document.querySelector('.chat-pane')!;
    for (const type of ['dragenter', 'dragover', 'drop']) pane.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
  }, files);
}

describe.skipIf(!hasChromium)('file transfer in the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('alice offers bob a file; bob accepts; the saved bytes are the original; a declined offer says so; a reload shows both cards as they were', async () => {
    let alice: Person | undefined, bob: Person | undefined;
    try {
      [alice, bob] = await Promise.all([signUp(browser, server.url, 'alice', PASSWORD), signUp(browser, server.url, 'bob', PASSWORD)]);
      // Files go to one person: the world chat has no attach button.
      expect(await alice.page.getByTestId('attach').count()).toBe(0);
      const conv = await openDm(alice, 'bob');
      await expect(alice.page.getByRole('button', { name: 'Send a file' }).count()).resolves.toBe(1);

      const original = randomBytes(300 * 1024);
      await alice.page.getByTestId('file-input').setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: original });
      const aliceCard = cardOf(alice.page, 'report.pdf');
      await until(async () => (await stateOf(aliceCard)) === 'offered', "alice's card to show the offer");
      expect(await statusOf(aliceCard)).toBe('Waiting for bob to accept…');
      expect(await aliceCard.getByTestId('file-size').textContent()).toBe('300 KiB');

      // bob, in the world chat: the offer raises the DM's unread badge, and its preview names the file.
      await until(async () => (await unreadBadge(bob!.page, conv)) === '1', "bob's unread badge for the offer");
      expect(await dmWith(bob.page, 'alice').locator('.conv-preview').textContent()).toBe('[File] report.pdf');
      await dmWith(bob.page, 'alice').click();
      const bobCard = cardOf(bob.page, 'report.pdf');
      await until(async () => (await stateOf(bobCard)) === 'offered', 'bob to see the card');
      expect(await statusOf(bobCard)).toBe('alice wants to send you this file');
      expect(await bobCard.getByRole('button').allTextContents()).toEqual(['Accept', 'Decline']);

      // Accepting is asking for the file: this tab saves it as soon as it has arrived and checked out.
      const download = bob.page.waitForEvent('download', { timeout: 30_000 });
      await bobCard.getByRole('button', { name: 'Accept' }).click();
      const saved = await download;
      expect(saved.suggestedFilename()).toBe('report.pdf');
      const bytes = await readFile((await saved.path())!);
      expect(bytes.length).toBe(original.length);
      expect(sha256(bytes)).toBe(sha256(original));

      // Both ends: completed, "N bytes in T s", and no bar left behind.
      await until(async () => (await stateOf(aliceCard)) === 'completed' && (await stateOf(bobCard)) === 'completed', 'both cards completed');
      await until(async () => /^Sent 307,200 bytes in \d+(\.\d+)? s$/.test(await statusOf(aliceCard)), "alice's sent line", 15_000);
      await until(async () => /^Received 307,200 bytes in \d+(\.\d+)? s$/.test(await statusOf(bobCard)), "bob's received line", 15_000);
      // bob's tab told the server the bytes checked out; alice learns he has it.
      await until(async () => (await aliceCard.getByTestId('file-detail').textContent()) === 'bob received it', 'alice to see the delivery');
      const live: string[] = [];
      for (const card of [aliceCard, bobCard]) {
        expect(await card.getByRole('progressbar').count()).toBe(0);
        const text = (await card.textContent()) ?? '';
        // The extension is on the icon once, not repeated under the name.
        expect(text.match(/PDF/g)).toHaveLength(1);
        live.push(text);
      }

      // A second offer, declined.
      await alice.page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not for you') });
      const bobNotes = cardOf(bob.page, 'notes.txt');
      await until(async () => (await stateOf(bobNotes)) === 'offered', 'bob to see the second offer');
      await bobNotes.getByRole('button', { name: 'Decline' }).click();
      const aliceNotes = cardOf(alice.page, 'notes.txt');
      await until(async () => (await stateOf(aliceNotes)) === 'declined', 'alice to see the decline');
      expect(await statusOf(aliceNotes)).toBe('bob declined');
      expect(await statusOf(bobNotes)).toBe('You declined');

      // After a reload both see both cards, with their states, from history.
      await Promise.all([alice.page.reload(), bob.page.reload()]);
      for (const { page, sent } of [
        { page: alice.page, sent: /^Sent 307,200 bytes in \d+(\.\d+)? s$/ },
        { page: bob.page, sent: /^Received 307,200 bytes in \d+(\.\d+)? s$/ },
      ]) {
        await waitOnline(page);
        await until(async () => (await stateOf(cardOf(page, 'report.pdf'))) === 'completed', 'the completed card after a reload');
        expect(await statusOf(cardOf(page, 'report.pdf'))).toMatch(sent);
        expect(await stateOf(cardOf(page, 'notes.txt'))).toBe('declined');
      }
      // The same card, to the letter, as before the reload (the duration included).
      expect([await cardOf(alice.page, 'report.pdf').textContent(), await cardOf(bob.page, 'report.pdf').textContent()]).toEqual(live);
      expect(await statusOf(cardOf(alice.page, 'notes.txt'))).toBe('bob declined');

      // bob can save it again while the server keeps it.
      const again = bob.page.waitForEvent('download', { timeout: 30_000 });
      await cardOf(bob.page, 'report.pdf').getByRole('button', { name: 'Save again' }).click();
      expect(sha256(await readFile((await (await again).path())!))).toBe(sha256(original));
    } finally {
      await close(alice, bob);
    }
  });

  it('file names are only ever text: markup and path names show literally, and no script runs', async () => {
    let carol: Person | undefined, dave: Person | undefined;
    try {
      [carol, dave] = await Promise.all([signUp(browser, server.url, 'carol', PASSWORD), signUp(browser, server.url, 'dave', PASSWORD)]);
      await openDm(carol, 'dave');
      const names = ['<img src=x onerror=alert(1)>.txt', '../../x', '..\\..\\windows\\win.ini', '<script>__pwned("name")</script>'];
      // Dropped on the chat pane, as from a file manager.
      await dropFiles(carol.page, names.map((name) => ({ name, text: `content of ${name}` })));
      await until(async () => (await carol!.page.getByTestId('file-card').count()) === names.length, 'all offers out');

      await dmWith(dave.page, 'carol').click();
      await until(async () => (await dave!.page.getByTestId('file-card').count()) === names.length, 'dave to see the offers');
      for (const page of [carol.page, dave.page]) {
        expect(await page.getByTestId('file-name').allTextContents()).toEqual(names);
        expect(await page.locator('.file-card img, .file-card script').count()).toBe(0);
      }

      // Saved under a harmless name: one path segment, no separators.
      const download = dave.page.waitForEvent('download', { timeout: 30_000 });
      await cardOf(dave.page, '../../x').getByRole('button', { name: 'Accept' }).click();
      const saved = await download;
      expect(saved.suggestedFilename()).not.toMatch(/[\\/]/);
      expect((await readFile((await saved.path())!)).toString()).toBe('content of ../../x');
      await Promise.all([flushPwned(carol), flushPwned(dave)]);
      expect([...carol.pwned, ...dave.pwned]).toEqual([]);
    } finally {
      await close(carol, dave);
    }
  });

  it('after a reload the sender picks the file again and the upload goes on; another file is refused', async () => {
    let erin: Person | undefined, frank: Person | undefined;
    try {
      [erin, frank] = await Promise.all([signUp(browser, server.url, 'erin', PASSWORD), signUp(browser, server.url, 'frank', PASSWORD)]);
      await openDm(erin, 'frank');
      const original = randomBytes(64 * 1024);
      await erin.page.getByTestId('file-input').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: original });
      await until(async () => (await stateOf(cardOf(erin!.page, 'data.bin'))) === 'offered', 'the offer');

      // erin's tab forgets the picked file; frank accepts meanwhile.
      await erin.page.reload();
      await waitOnline(erin.page);
      await dmWith(frank.page, 'erin').click();
      const download = frank.page.waitForEvent('download', { timeout: 30_000 });
      await cardOf(frank.page, 'data.bin').getByRole('button', { name: 'Accept' }).click();

      const card = cardOf(erin.page, 'data.bin');
      await until(async () => (await statusOf(card)).startsWith('Paused at 0%'), 'erin to be asked for the file again');
      await card.getByTestId('file-repick').setInputFiles({ name: 'other.bin', mimeType: 'application/octet-stream', buffer: randomBytes(64 * 1024) });
      await until(async () => (await statusOf(card)).includes('That is not the file you offered'), 'a different file refused');
      expect(await stateOf(card)).toBe('accepted');

      await card.getByTestId('file-repick').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: original });
      expect(sha256(await readFile((await (await download).path())!))).toBe(sha256(original));
      await until(async () => (await stateOf(card)) === 'completed', "erin's card completed");
    } finally {
      await close(erin, frank);
    }
  });

  it('a download cut off part-way survives a reload: "Paused at N %", then it resumes with a Range past 0 and saves the original bytes', async () => {
    let kim: Person | undefined, lee: Person | undefined;
    try {
      [kim, lee] = await Promise.all([signUp(browser, server.url, 'kim', PASSWORD), signUp(browser, server.url, 'lee', PASSWORD)]);
      const original = randomBytes(3 * 1024 * 1024);
      const prefix = 1024 * 1024 + 12_345;
      // lee's downloads go through a switch: the first answer stops after `prefix` bytes, the
      // request that resumes it hangs (a dead connection) until the page is reloaded.
      const asked: { range: string | null; ifRange: string | null }[] = [];
      const hanging: Route[] = [];
      let mode: 'cut' | 'hang' | 'pass' = 'cut';
      await lee.context.route(/\/api\/files\/[^/]+\/content$/, async (route) => {
        const headers = route.request().headers();
        asked.push({ range: headers.range ?? null, ifRange: headers['if-range'] ?? null });
        if (mode === 'cut') {
          mode = 'hang';
          const response = await route.fetch();
          const body = (await response.body()).subarray(0, prefix);
          return route.fulfill({ status: 200, headers: { ...response.headers(), 'content-length': String(prefix) }, body });
        }
        if (mode === 'hang') return void hanging.push(route);
        return route.continue();
      });

      await openDm(kim, 'lee');
      await kim.page.getByTestId('file-input').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: original });
      await until(async () => (await dmWith(lee!.page, 'kim').count()) === 1, "the DM in lee's sidebar");
      await dmWith(lee.page, 'kim').click();
      await until(async () => (await stateOf(cardOf(lee!.page, 'big.bin'))) === 'offered', 'lee to see the offer');
      await cardOf(lee.page, 'big.bin').getByRole('button', { name: 'Accept' }).click();
      await until(() => hanging.length === 1, 'the download to be cut off and its resumption to hang', 30_000);
      expect(asked).toEqual([{ range: null, ifRange: null }, { range: `bytes=${prefix}-`, ifRange: `"${sha256(original)}"` }]);

      await lee.page.reload();
      await waitOnline(lee.page);
      for (const route of hanging.splice(0)) await route.abort().catch(() => {});
      mode = 'pass';
      const card = cardOf(lee.page, 'big.bin');
      const percent = Math.floor((prefix / original.length) * 100);
      await until(async () => (await statusOf(card)) === `Paused at ${percent}% · resume to download the rest`, 'the card to show the paused download');
      expect(await card.getByRole('progressbar').getAttribute('aria-valuenow')).toBe(String(percent));

      const download = lee.page.waitForEvent('download', { timeout: 30_000 });
      await card.getByRole('button', { name: 'Resume' }).click();
      const saved = await download;
      expect(asked.at(-1)).toEqual({ range: `bytes=${prefix}-`, ifRange: `"${sha256(original)}"` });
      expect(asked.filter((request) => request.range === null)).toHaveLength(1);
      const bytes = await readFile((await saved.path())!);
      expect(bytes.length).toBe(original.length);
      expect(sha256(bytes)).toBe(sha256(original));
      await until(async () => /^Received 3,145,728 bytes in /.test(await statusOf(card)), "lee's received line");
      // Saved: nothing of it stays in the browser's storage.
      const held = () =>
        lee!.page.evaluate(
          () =>
            new Promise<number>((resolve) => {
              const open = indexedDB.open('parley-downloads');
              open.onsuccess = () => {
                const count = open.result.transaction('chunks').objectStore('chunks').count();
                count.onsuccess = () => resolve(count.result);
              };
            }),
        );
      await until(async () => (await held()) === 0, 'the held bytes to be forgotten');

      // Whatever is held when the user signs out goes with the session.
      await lee.page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            const open = indexedDB.open('parley-downloads');
            open.onsuccess = () => {
              const tx = open.result.transaction(['downloads', 'chunks'], 'readwrite');
              tx.objectStore('downloads').put({ id: 'AAAAAAAAAAAAAAAAAAAAAA', sha256: '0'.repeat(64), size: 10, have: 4, etag: '"x"', chunks: 1 });
              tx.objectStore('chunks').put(new Blob(['abcd']), ['AAAAAAAAAAAAAAAAAAAAAA', 0]);
              tx.oncomplete = () => resolve();
            };
          }),
      );
      expect(await held()).toBe(1);
      await lee.page.getByTestId('sign-out').click();
      await lee.page.locator('#auth-form').waitFor();
      await until(async () => (await held()) === 0, 'sign-out to forget the held bytes');
    } finally {
      await close(kim, lee);
    }
  });

  it('the sender cancels; a change made while the recipient was disconnected reaches him when he is back', async () => {
    let gina: Person | undefined, hank: Person | undefined;
    try {
      [gina, hank] = await Promise.all([signUp(browser, server.url, 'gina', PASSWORD), signUp(browser, server.url, 'hank', PASSWORD)]);
      // hank's live connection goes through a switch the test can open.
      let cut = false;
      const sockets: WebSocketRoute[] = [];
      await hank.context.routeWebSocket(/\/ws$/, (ws) => {
        if (cut) return ws.close({ code: 4000, reason: 'cut by the test' });
        sockets.push(ws);
        ws.connectToServer();
      });
      await hank.page.reload();
      await waitOnline(hank.page);

      await openDm(gina, 'hank');
      await send(gina.page, 'a plan for Saturday, one moment');
      await until(async () => (await dmWith(hank!.page, 'gina').count()) === 1, "the DM in hank's sidebar");
      await dmWith(hank.page, 'gina').click();
      await waitForMessage(hank.page, 'a plan for Saturday, one moment');
      await gina.page.getByTestId('file-input').setInputFiles({ name: 'plan.txt', mimeType: 'text/plain', buffer: Buffer.from('meet at 10') });
      await until(async () => (await stateOf(cardOf(hank!.page, 'plan.txt'))) === 'offered', 'hank to see the offer live');

      cut = true;
      for (const ws of sockets.splice(0)) await ws.close({ code: 4000, reason: 'cut by the test' });
      await hank.page.locator('.shell[data-connection="reconnecting"]').waitFor();

      await cardOf(gina.page, 'plan.txt').getByRole('button', { name: 'Cancel' }).click();
      await until(async () => (await stateOf(cardOf(gina!.page, 'plan.txt'))) === 'cancelled', 'gina to see it cancelled');
      expect(await statusOf(cardOf(gina.page, 'plan.txt'))).toBe('Cancelled');
      expect(await stateOf(cardOf(hank.page, 'plan.txt'))).toBe('offered');

      cut = false;
      await hank.page.evaluate(() => dispatchEvent(new Event('online')));
      await waitOnline(hank.page);
      await until(async () => (await stateOf(cardOf(hank!.page, 'plan.txt'))) === 'cancelled', 'the catch-up to bring the cancel', 15_000);
      expect(await cardOf(hank.page, 'plan.txt').getByRole('button').count()).toBe(0);
    } finally {
      await close(gina, hank);
    }
  });
});

describe.skipIf(!hasChromium)('the file size limit in the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--max-file-bytes', '1000']));
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('refuses a file one byte over the limit before hashing or offering it, and offers one at the limit', async () => {
    let ivy: Person | undefined, jon: Person | undefined;
    try {
      [ivy, jon] = await Promise.all([signUp(browser, server.url, 'ivy', PASSWORD), signUp(browser, server.url, 'jon', PASSWORD)]);
      await openDm(ivy, 'jon');
      const offers: string[] = [];
      ivy.page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/files') offers.push(request.url());
      });

      await ivy.page.getByTestId('file-input').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1001) });
      const refusal = ivy.page.getByTestId('preparing').getByRole('alert');
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain('larger than this server accepts');
      expect(offers).toEqual([]);

      await ivy.page.getByTestId('file-input').setInputFiles({ name: 'fits.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000) });
      await until(async () => (await stateOf(cardOf(ivy!.page, 'fits.bin'))) === 'offered', 'the offer of a file at the limit');
      expect(offers).toHaveLength(1);
    } finally {
      await close(ivy, jon);
    }
  });
});

describe.skipIf(!hasChromium)('an upload from the web client across a server restart', () => {
  let server: TestServer;
  let browser: Browser;
  let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
    proxy = await startHoldingProxy(() => server.port);
  }, 240_000);

  afterAll(async () => {
    await proxy?.close();
    await stopWebTestbed(browser, server);
  });

  it('is told 503 SHUTTING_DOWN, waits, and goes on from the bytes the server kept', async () => {
    let mia: Person | undefined, ned: Person | undefined;
    try {
      // mia's tab reaches the server through a relay that can park her upload mid-body.
      [mia, ned] = await Promise.all([signUp(browser, proxy.url, 'mia', PASSWORD), signUp(browser, server.url, 'ned', PASSWORD)]);
      await openDm(mia, 'ned');
      const original = randomBytes(3 * 1024 * 1024);
      await mia.page.getByTestId('file-input').setInputFiles({ name: 'restart.bin', mimeType: 'application/octet-stream', buffer: original });
      const miaCard = cardOf(mia.page, 'restart.bin');
      await until(async () => (await stateOf(miaCard)) === 'offered', 'the offer');
      const id = (await miaCard.getAttribute('data-file'))!;
      const part = join(server.dataDir, 'files', `${id}.part`);

      proxy.holdAfter(1024 * 1024);
      await until(async () => (await dmWith(ned!.page, 'mia').count()) === 1, "the DM in ned's sidebar");
      await dmWith(ned.page, 'mia').click();
      const download = ned.page.waitForEvent('download', { timeout: 60_000 });
      await cardOf(ned.page, 'restart.bin').getByRole('button', { name: 'Accept' }).click();
      await until(() => proxy.holding, "mia's upload to be parked mid-body", 30_000);
      await until(async () => ((await stat(part).catch(() => null))?.size ?? 0) > 512 * 1024, 'part of the upload on disk');

      await server.restart();
      expect(sha256(await readFile((await (await download).path())!))).toBe(sha256(original));
      await until(async () => (await stateOf(miaCard)) === 'completed', "mia's card completed", 30_000);
      expect(proxy.responses).toContain('HTTP/1.1 503 Service Unavailable (Retry-After)');
      const patches = proxy.requests.filter((request) => request.line.startsWith('PATCH'));
      expect(patches).toHaveLength(2);
      expect(patches[0]!.uploadOffset).toBe(0);
      expect(patches[1]!.uploadOffset).toBeGreaterThan(512 * 1024);
    } finally {
      await close(mia, ned);
    }
  }, 90_000);
});
