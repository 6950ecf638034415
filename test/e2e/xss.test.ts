import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { authenticate, close, flushPwned, hasChromium, messageTexts, openApp, send, signUp, until, type Person } from './support/browser.ts';
import { XSS_NAMES_ALLOWED, XSS_NAMES_REFUSED, XSS_PAYLOADS } from './xss-corpus.ts';

const PASSWORD = 'correct horse battery';
/** Tall enough that every message of the corpus is rendered at once (the list is windowed). */
const TALL = { width: 1280, height: 4200 };
const DANGEROUS = '.msg-text script, .msg-text img, .msg-text svg, .msg-text iframe, .msg-text object, .msg-text embed, .msg-text video, .msg-text audio, .msg-text input, .msg-text form, .msg-text style, .msg-text link, .msg-text meta, .msg-text base, .msg-text details, .msg-text marquee, .msg-text xss, .msg-text [onerror], .msg-text [onload]';

describe.skipIf(!hasChromium)('the web client never runs what users type', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed(['--send-rate', '1000', '--send-burst', '1000']));
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it(`shows ${XSS_PAYLOADS.length} script-injection payloads as literal text, to sender and receiver, and none runs`, async () => {
    let mallory: Person | undefined, victim: Person | undefined;
    try {
      [mallory, victim] = await Promise.all([
        signUp(browser, server.url, 'mallory', PASSWORD, { viewport: TALL }),
        signUp(browser, server.url, 'victim', PASSWORD, { viewport: TALL }),
      ]);
      for (const payload of XSS_PAYLOADS) await send(mallory.page, payload);
      for (const person of [mallory, victim]) {
        await until(async () => (await messageTexts(person.page)).length === XSS_PAYLOADS.length, `${person.name} to show every payload`, 20_000);
      }
      // Hover over it all, then let every hook call made so far arrive.
      for (const person of [mallory, victim]) {
        for (let y = 80; y < TALL.height; y += 160) await person.page.mouse.move(640, y);
        await flushPwned(person);
      }

      for (const person of [mallory, victim]) {
        expect(await messageTexts(person.page)).toEqual(XSS_PAYLOADS.map((p) => p.trim()));
        expect(await person.page.locator(DANGEROUS).count()).toBe(0);
        // The only elements inside message text are the links the client made, and they are safe.
        const links = await person.page.locator('.msg-text a').evaluateAll((nodes) =>
          nodes.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target') })),
        );
        expect(links.length).toBeGreaterThan(0);
        for (const link of links) {
          expect(link.href).toMatch(/^https?:\/\//);
          expect(link.rel).toBe('noopener noreferrer');
          expect(link.target).toBe('_blank');
        }
        expect(person.page.url()).toBe(`${server.url}/`);
        expect(person.pwned, `${person.name}: no payload executed`).toEqual([]);
      }
      // The sidebar preview of the last payload is text too.
      const preview = await victim.page.locator('a.conv-item[data-conv="world"] .conv-preview').textContent();
      expect(preview).toBe(`mallory: ${XSS_PAYLOADS.at(-1)}`);
    } finally {
      await close(mallory, victim);
    }
  });

  it('the execution hook works: a script that did run would be recorded (control)', async () => {
    const control = await openApp(browser, server.url);
    try {
      await control.page.evaluate(() => {
        (window as unknown as { __pwned: (x: unknown) => void }).__pwned('control');
        alert('control');
      });
      await until(() => control.pwned.length === 2, 'the control calls');
      expect(control.pwned).toEqual(['control', 'alert:control']);
      // And the page's Content-Security-Policy would stop an inline handler even if markup got in.
      // The test waits for the image's error event (its own listener, which CSP allows): by then the
      // inline handler has run or been blocked.
      await control.page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            const div = document.createElement('div');
            div.innerHTML = '<img src="x" onerror="__pwned(\'inline handler\')">';
            div.querySelector('img')!.addEventListener('error', () => resolve(), { once: true });
            document.body.append(div);
          }),
      );
      await flushPwned(control);
      expect(control.pwned).toEqual(['control', 'alert:control']);
    } finally {
      await control.context.close();
    }
  });

  it('refuses markup in names with an inline error, and shows the names it allows as plain text', async () => {
    const opened = await openApp(browser, server.url);
    let watcher: Person | undefined;
    const people: Person[] = [];
    try {
      for (const name of XSS_NAMES_REFUSED) {
        await authenticate(opened.page, 'register', name, PASSWORD);
        await until(async () => ((await opened.page.getByTestId('auth-error').textContent()) ?? '').startsWith('A name is'), `the name rule for ${name}`);
      }
      expect(opened.pwned).toEqual([]);

      watcher = await signUp(browser, server.url, 'watcher', PASSWORD);
      for (const name of XSS_NAMES_ALLOWED) {
        const person = await signUp(browser, server.url, name, PASSWORD);
        people.push(person);
        await send(person.page, `hello from ${name}`);
      }
      const { page } = watcher;
      const hellos = XSS_NAMES_ALLOWED.map((name) => `hello from ${name}`);
      await until(async () => (await messageTexts(page)).slice(-hellos.length).join('|') === hellos.join('|'), 'every hello');
      const senders = await page.getByTestId('sender').allTextContents();
      expect(senders.slice(-XSS_NAMES_ALLOWED.length)).toEqual([...XSS_NAMES_ALLOWED]);
      const online = await page.locator('.online-list .user-name').allTextContents();
      expect(online.sort()).toEqual([...XSS_NAMES_ALLOWED].sort());
      // A DM with "__proto__" works like any other (ids, not names, key everything).
      await page.locator('.online-list button[data-user="__proto__"]').click();
      await until(async () => (await page.getByTestId('chat-title').textContent()) === '__proto__', 'the DM with __proto__');
      await send(page, 'hi __proto__');
      await until(async () => (await people[0]!.page.locator('a.conv-item .conv-name', { hasText: 'watcher' }).count()) === 1, 'the DM to reach __proto__');
      for (const person of [watcher, ...people]) expect(person.pwned, person.name).toEqual([]);
    } finally {
      await close(watcher, ...people);
      await opened.context.close();
    }
  });
});
