import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { ParleyApi } from '../../src/client/api.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { authenticate, close, hasChromium, openApp, signUp, until, waitOnline, type Person } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

/** What has the focus: its name attribute, else its test id. */
const focused = (page: Page) => page.evaluate(() => (document.activeElement as HTMLElement).getAttribute('name') ?? (document.activeElement as HTMLElement).dataset.testid ?? document.activeElement?.tagName);

async function openDialog(page: Page): Promise<void> {
  // The way a keyboard user opens it: focus on the button, Enter.
  await page.getByTestId('change-password').focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog[open]').waitFor();
}

async function fill(page: Page, current: string, next: string, repeat = next): Promise<void> {
  await page.locator('input[name="current-password"]').fill(current);
  await page.locator('input[name="new-password"]').fill(next);
  await page.locator('input[name="repeat-password"]').fill(repeat);
  await page.getByTestId('change-password-submit').click();
}

const errorShown = (page: Page, text: string) => until(async () => (await page.getByTestId('password-error').textContent()) === text, `the error "${text}"`);

describe.skipIf(!hasChromium)('changing the password in the web client', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('opens from the user bar with the focus in its first field, closes on Escape with the focus back on the opener, shows errors, and signs out only the other sessions', async () => {
    let alice: Person | undefined;
    let elsewhere: Omit<Person, 'name'> | undefined;
    try {
      alice = await signUp(browser, server.url, 'alice', PASSWORD);
      elsewhere = await openApp(browser, server.url);
      await authenticate(elsewhere.page, 'sign-in', 'alice', PASSWORD);
      await waitOnline(elsewhere.page);
      const { page } = alice;

      const opener = page.getByTestId('change-password');
      expect(await opener.getAttribute('aria-label')).toBe('Change password');
      await openDialog(page);
      expect(await page.locator('dialog[open] h2').textContent()).toBe('Change password');
      expect(await focused(page)).toBe('current-password');
      await page.keyboard.press('Escape');
      await page.locator('dialog[open]').waitFor({ state: 'detached' });
      expect(await focused(page)).toBe('change-password');

      await openDialog(page);
      await fill(page, 'not my password', NEW_PASSWORD);
      await errorShown(page, 'Your current password is not right.');
      expect(await page.locator('input[name="current-password"]').getAttribute('aria-invalid')).toBe('true');
      await fill(page, PASSWORD, NEW_PASSWORD, 'a brand new passphrasf');
      await errorShown(page, 'The two new passwords differ.');
      await fill(page, PASSWORD, 'password1');
      await errorShown(page, 'That password is too common (or it is your name). Choose another.');
      expect(await page.locator('input[name="new-password"]').getAttribute('aria-invalid')).toBe('true');

      await fill(page, PASSWORD, NEW_PASSWORD);
      const done = page.getByTestId('password-changed');
      await done.waitFor();
      expect(await done.textContent()).toBe('Your password is changed. Everywhere else you were signed in, you are signed out now.');
      expect(await done.getAttribute('role')).toBe('status');
      // The other browser is signed out at once (its socket was closed with 4001); this one stays.
      await elsewhere.page.locator('#auth-form').waitFor();
      expect(await elsewhere.page.getByTestId('auth-error').textContent()).toBe('You were signed out.');
      // The focus moves to Close in an effect after the confirmation renders: waited for, not assumed.
      let lastFocused: string | undefined;
      await until(async () => (lastFocused = await focused(page)) === 'password-changed-close', 'the focus on Close after the change', 10_000).catch((error: Error) => {
        throw new Error(`${error.message}; the focus is on ${lastFocused}`);
      });
      await page.keyboard.press('Enter'); // the focused Close button
      await page.locator('dialog[open]').waitFor({ state: 'detached' });
      expect(await focused(page)).toBe('change-password');
      await waitOnline(page);
      expect(await page.getByTestId('me').textContent()).toBe('alice');

      await expect(new ParleyApi(server.url).login({ name: 'alice', password: PASSWORD })).rejects.toMatchObject({ code: 'WRONG_CREDENTIALS' });
      expect((await new ParleyApi(server.url).login({ name: 'alice', password: NEW_PASSWORD })).user.name).toBe('alice');
    } finally {
      await close(alice, elsewhere && { name: 'elsewhere', ...elsewhere });
    }
  });

  it('speaks Chinese to a zh-CN browser', async () => {
    let li: Person | undefined;
    try {
      li = await signUp(browser, server.url, '小李', PASSWORD, { locale: 'zh-CN' });
      const { page } = li;
      expect(await page.getByTestId('change-password').getAttribute('aria-label')).toBe('修改密码');
      await openDialog(page);
      expect(await page.locator('dialog[open] h2').textContent()).toBe('修改密码');
      await fill(page, 'not my password', NEW_PASSWORD);
      await errorShown(page, '当前密码不正确');
      await fill(page, PASSWORD, NEW_PASSWORD);
      expect(await page.getByTestId('password-changed').textContent()).toBe('密码已修改。其他登录的地方都已退出登录。');
    } finally {
      await close(li);
    }
  });
});
