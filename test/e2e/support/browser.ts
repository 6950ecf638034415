import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && /^(true|1)$/i.test(process.env.CI ?? '')) {
  // In CI a skipped browser suite would pass unnoticed: fail instead.
  throw new Error(`${CHROMIUM} is missing and CI is set: the web client end-to-end tests cannot run (Debian: apt-get install chromium).`);
}
if (!hasChromium) {
  console.warn(
    '\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      '!! /usr/bin/chromium is missing: the web client end-to-end tests are SKIPPED. !!\n' +
      '!! Install it (Debian: apt-get install chromium) to run them.                 !!\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Background tabs must keep their timers: two users are on screen at once in these tests.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Set when a test installed the XSS hook: every call of window.__pwned lands here. */
  pwned: string[];
}

/** A fresh browser profile (its own cookies) on the app, with a hook that records any injected script. */
export async function openApp(browser: Browser, url: string, options: BrowserContextOptions = {}): Promise<Omit<Person, 'name'>> {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', ...options });
  const pwned: string[] = [];
  await context.exposeBinding('__pwned', (_source, what: unknown) => {
    pwned.push(String(what));
  });
  // Payloads that use alert/confirm/prompt are caught too.
  await context.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    for (const name of ['alert', 'confirm', 'prompt']) w[name] = (x: unknown) => (w.__pwned as (v: unknown) => void)(`${name}:${String(x)}`);
  });
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    pwned.push(`dialog:${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(url);
  return { context, page, pwned };
}

/**
 * Returns once every call of the injected-script hook made so far has reached `person.pwned`:
 * the page calls the hook itself, and calls arrive in order.
 */
export async function flushPwned(person: Pick<Person, 'page' | 'pwned'>): Promise<void> {
  const marker = `flush-${Math.random()}`;
  await person.page.evaluate((text) => (window as unknown as { __pwned: (x: string) => Promise<void> }).__pwned(text), marker);
  person.pwned.splice(person.pwned.indexOf(marker), 1);
}

/** Fills the sign-in screen: register or sign in. Waits for the chat (or returns on an error). */
export async function authenticate(page: Page, mode: 'register' | 'sign-in', name: string, password: string): Promise<void> {
  const form = page.locator('#auth-form');
  await form.waitFor();
  const wantTab = mode === 'register' ? 1 : 0;
  const tab = page.getByRole('tab').nth(wantTab);
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
  await page.locator('input[name="name"]').fill(name);
  await page.locator('input[name="password"]').fill(password);
  await page.getByTestId('auth-submit').click();
}

export async function signUp(browser: Browser, url: string, name: string, password: string, options: BrowserContextOptions = {}): Promise<Person> {
  const opened = await openApp(browser, url, options);
  await authenticate(opened.page, 'register', name, password);
  await until(async () => (await opened.page.getByTestId('me').textContent()) === name, `${name} signed in`);
  await waitOnline(opened.page);
  return { name, ...opened };
}

/** The live connection is up (the sidebar shows, and the session is synced). */
export async function waitOnline(page: Page): Promise<void> {
  await page.locator('.shell[data-connection="online"]').waitFor({ timeout: 15_000 });
}

export async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

/** The texts of the messages on screen in the open conversation, in order. */
export async function messageTexts(page: Page): Promise<string[]> {
  return page.getByTestId('message-text').evaluateAll((nodes) => nodes.map((node) => (node as HTMLElement).innerText.trim()));
}

export async function waitForMessage(page: Page, text: string, timeout = 10_000): Promise<void> {
  await until(async () => (await messageTexts(page)).includes(text), `message ${JSON.stringify(text)} on screen`, timeout);
}

/**
 * Sends `marker` from one page and waits until every page in `to` shows it. Messages reach a
 * client in seq order, so whatever was sent before the marker (a duplicate included) has
 * arrived by then: a check that something did NOT arrive needs no sleep.
 */
export async function passMarker(from: Page, to: Page[], marker: string): Promise<void> {
  await send(from, marker);
  for (const page of to) await waitForMessage(page, marker);
}

export function conversationLink(page: Page, conv: string) {
  return page.locator(`a.conv-item[data-conv="${conv}"]`);
}

export async function unreadBadge(page: Page, conv: string): Promise<string | null> {
  const badge = conversationLink(page, conv).getByTestId('unread-badge');
  return (await badge.count()) > 0 ? badge.textContent() : null;
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function close(...people: (Person | undefined)[]): Promise<void> {
  await Promise.all(people.map((person) => person?.context.close().catch(() => {})));
}
