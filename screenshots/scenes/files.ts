import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileApi } from '../../src/client/files.ts';
import { uploadFile } from '../../src/client/node-files.ts';
import { newClientId } from '../../src/client/session.ts';
import { TUS_VERSION, UPLOAD_CONTENT_TYPE, fileUrls, type FileCard } from '../../src/protocol/files.ts';
import { connect, registerUser, type Client } from '../../test/support/clients.ts';
import { DESKTOP, PHONE, authenticate, openApp, until, waitOnline } from '../../test/e2e/support/browser.ts';
import { useLanguage, type Scene } from '../stage.ts';

const PASSWORD = 'correct horse battery';
const MB = 1024 * 1024;

/**
 * An upload that never finishes: a burst, then a steady trickle, so both ends show a live
 * progress bar with speed and time left while the pictures are taken.
 */
function trickleUpload(url: string, token: string, card: FileCard, burst: number, bytesPerSecond: number) {
  const chunk = new Uint8Array(64 * 1024);
  let sent = 0;
  let stopped = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= burst) await new Promise((resolve) => setTimeout(resolve, (chunk.length / bytesPerSecond) * 1000));
      // Ends the request early (the server keeps what arrived, as after a dropped connection).
      if (stopped || sent + chunk.length >= card.size) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const done = fetch(new URL(fileUrls.upload(card.id), url), {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': UPLOAD_CONTENT_TYPE, 'tus-resumable': TUS_VERSION, 'upload-offset': '0' },
    body,
    duplex: 'half',
  } as RequestInit).then(
    (response) => response.arrayBuffer(),
    () => {},
  );
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/**
 * A direct conversation with file cards in every interesting state: delivered, declined,
 * arriving (live progress), and an offer waiting for an answer; on a desktop and a phone.
 */
export const filesScene: Scene = {
  name: 'files',
  async run({ server, browser, shoot }) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-shots-'));
    const [alice, bob, chen, emma] = await Promise.all(['alice', 'bob', '陈静', 'emma'].map((name) => registerUser(server.url, name, PASSWORD)));
    const clients: Client[] = [];
    for (const user of [bob!, chen!, emma!]) clients.push(await connect(user.api));
    const [x, y] = [alice!.user.id, bob!.user.id].sort((p, q) => p - q);
    const conv = `dm:${x}:${y}`;
    const files = { alice: new FileApi(alice!.api), bob: new FileApi(bob!.api) };
    const offer = (from: 'alice' | 'bob', name: string, size: number, type: string, sha256 = randomBytes(32).toString('hex')) =>
      files[from].offer({ conv, clientId: newClientId(), name, size, type, sha256 }).then((reply) => reply.file);

    await chen!.api.send('world', '大家好，周六实验室见！');
    await bob!.api.send(conv, 'Could you send me the lab report before Friday?');
    await alice!.api.send(conv, 'Sure — here is the final version, checked twice.');

    const report = randomBytes(Math.round(2.4 * MB));
    const reportPath = join(dir, 'report.pdf');
    await writeFile(reportPath, report);
    const pdf = await offer('alice', 'Lab report — final.pdf', report.length, 'application/pdf', createHash('sha256').update(report).digest('hex'));
    await files.bob.decide(pdf.id, 'accept');
    await uploadFile(files.alice, { ...pdf, state: 'accepted' }, reportPath);
    await files.bob.decide(pdf.id, 'delivered');

    const draft = await offer('alice', 'notes (old draft).docx', 348_160, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    await files.bob.decide(draft.id, 'decline');
    await bob!.api.send(conv, 'Got it, thanks! Here are my measurements and the photos from Tuesday.');

    const csv = await offer('bob', 'measurements-week3.csv', Math.round(86.4 * MB), 'text/csv');
    await files.alice.decide(csv.id, 'accept');
    const upload = trickleUpload(server.url, bob!.token, csv, Math.round(31 * MB), Math.round(1.4 * MB));
    await offer('bob', 'lab-photos.zip', Math.round(48.2 * MB), 'application/zip');

    const desktop = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    const phone = await openApp(browser, server.url, { viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      await authenticate(desktop.page, 'sign-in', 'alice', PASSWORD);
      await waitOnline(desktop.page);
      const page = desktop.page;
      await page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: /^bob$/ }) }).click();
      await until(async () => (await page.getByTestId('file-card').count()) === 4, 'four file cards');
      // A few seconds of progress frames, so the speed and time left are measured.
      await until(async () => ((await page.locator('.file-rate').first().textContent().catch(() => '')) ?? '') !== '', 'a measured speed', 20_000);
      await page.waitForTimeout(2500);
      await shoot(page, 'desktop-light-en-files', 'light', 'en');
      await shoot(page, 'desktop-dark-zh-files', 'dark', 'zh-CN');

      // Files dragged over the conversation.
      await page.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File(['x'], 'slides.pdf', { type: 'application/pdf' }));
        document.querySelector('.chat-pane')!.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: data }));
      });
      await page.locator('.drop-zone').waitFor();
      await shoot(page, 'desktop-light-en-files-drop', 'light', 'en');
      await page.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File(['x'], 'slides.pdf'));
        document.querySelector('.chat-pane')!.dispatchEvent(new DragEvent('dragleave', { bubbles: true, cancelable: true, dataTransfer: data }));
      });
      await page.locator('.drop-zone').waitFor({ state: 'detached' });

      const mobile = phone.page;
      await authenticate(mobile, 'sign-in', 'bob', PASSWORD);
      await waitOnline(mobile);
      await mobile.locator('a.conv-item').filter({ has: mobile.locator('.conv-name', { hasText: /^alice$/ }) }).click();
      await until(async () => (await mobile.getByTestId('file-card').count()) === 4, 'four file cards on the phone');
      await until(async () => ((await mobile.locator('.file-rate').first().textContent().catch(() => '')) ?? '') !== '', 'a measured speed on the phone', 20_000);
      await mobile.waitForTimeout(2500);
      await shoot(mobile, 'phone-dark-zh-files', 'dark', 'zh-CN');
      // On a phone the language switch lives on the list screen.
      await mobile.getByRole('button', { name: '返回聊天列表' }).click();
      await useLanguage(mobile, 'en');
      await mobile.locator('a.conv-item').filter({ has: mobile.locator('.conv-name', { hasText: /^alice$/ }) }).click();
      await until(async () => (await mobile.getByTestId('file-card').count()) === 4, 'the cards again');
      await shoot(mobile, 'phone-light-en-files', 'light', 'en');
    } finally {
      await desktop.context.close();
      await phone.context.close();
      await upload.stop();
      for (const client of clients) client.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
