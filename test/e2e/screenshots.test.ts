import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerUser, type Client } from '../support/clients.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import { SCREENSHOTS } from './support/screenshots.ts';
import { DESKTOP, PHONE, authenticate, hasChromium, openApp, until, waitForMessage, waitOnline } from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/** Sets the language through the UI, as a person would. */
async function useLanguage(page: Page, language: 'en' | 'zh-CN') {
  const current = await page.evaluate(() => document.documentElement.lang);
  if (current !== language) await page.getByTestId('language-switch').click();
  await until(async () => (await page.evaluate(() => document.documentElement.lang)) === language, `language ${language}`);
}

async function shoot(page: Page, name: string, scheme: 'light' | 'dark', language: 'en' | 'zh-CN') {
  await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
  await useLanguage(page, language);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/**
 * Screenshots for the README and docs: a lively class chat in light and dark, Chinese and
 * English, desktop and phone. They are real: the built client on a real server.
 */
describe.skipIf(!hasChromium)('screenshots of the web client', () => {
  let server: TestServer;
  let browser: Browser;
  const clients: Client[] = [];

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
    const names = ['alice', 'bob', '陈静', 'emma', 'dmitri'] as const;
    const users = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await registerUser(server.url, name, PASSWORD)] as const)));
    const live = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await connect(users[name]!.api)] as const)));
    clients.push(...Object.values(live));
    const say = async (name: (typeof names)[number], text: string, conv = 'world') => {
      await live[name]!.session.send(conv, text);
    };
    const dm = (a: (typeof names)[number], b: (typeof names)[number]) => {
      const [x, y] = [users[a]!.user.id, users[b]!.user.id].sort((p, q) => p - q);
      return `dm:${x}:${y}`;
    };
    await say('陈静', '你好 alice，周六见！', dm('陈静', 'alice'));
    await say('alice', '好的，到时见 😊', dm('陈静', 'alice'));
    await say('bob', 'Morning all! Did everyone get the slides from yesterday?');
    await say('陈静', '收到了，谢谢！第三页的图表很清楚 👍');
    await say('emma', 'Here they are again for anyone who missed them: https://example.org/slides/week-3');
    await say('emma', 'Questions welcome before Friday.');
    await say('dmitri', 'Quick one — is the lab open on Saturday?');
    await say('alice', 'Yes, 10:00–14:00. I’ll be there the whole time.');
    await say('alice', 'Bring your laptops 💻');
    await say('陈静', '太好了！\n我周六上午过来，顺便把报告初稿带上。');
    await say('bob', 'See you there 🙌');
    await say('bob', 'Can you review my draft tonight?', dm('bob', 'alice'));
    await say('bob', 'No rush, tomorrow works too.', dm('bob', 'alice'));
    live.alice!.close();
    live.dmitri!.close();
  }, 240_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stopWebTestbed(browser, server);
  });

  it('captures the sign-in screen', async () => {
    const { context, page } = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'zh-CN' });
    try {
      await page.locator('#auth-form').waitFor();
      await shoot(page, 'signin-light-zh', 'light', 'zh-CN');
      await shoot(page, 'signin-dark-en', 'dark', 'en');
      await page.setViewportSize(PHONE);
      await shoot(page, 'signin-phone-light-zh', 'light', 'zh-CN');
    } finally {
      await context.close();
    }
  });

  it('captures the chat on a desktop and on a phone, light and dark, Chinese and English', async () => {
    const desktop = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    const phone = await openApp(browser, server.url, { viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      for (const { page } of [desktop, phone]) {
        await authenticate(page, 'sign-in', 'alice', PASSWORD);
        await waitOnline(page);
      }
      const { page } = desktop;
      await waitForMessage(page, 'See you there 🙌');
      await until(async () => (await page.locator('a.conv-item .badge').count()) === 1, 'the unread badge of the DM with bob');
      expect(await page.locator('a.conv-item .badge').textContent()).toBe('2');
      await page.getByTestId('composer').fill('Great — see you all on Saturday!');
      await shoot(page, 'desktop-light-en', 'light', 'en');
      await shoot(page, 'desktop-dark-zh', 'dark', 'zh-CN');
      await shoot(page, 'desktop-light-zh', 'light', 'zh-CN');
      await shoot(page, 'desktop-dark-en', 'dark', 'en');

      // On a phone the language switch lives on the list screen, so each language is chosen there.
      await page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: /^bob$/ }) }).click();
      await waitForMessage(page, 'No rush, tomorrow works too.');
      await shoot(page, 'desktop-light-en-dm', 'light', 'en');

      const mobile = phone.page;
      const openWorld = async () => {
        await mobile.locator('a.conv-item[data-conv="world"]').click();
        await waitForMessage(mobile, 'See you there 🙌');
      };
      await shoot(mobile, 'phone-light-zh-list', 'light', 'zh-CN');
      await openWorld();
      await shoot(mobile, 'phone-light-zh-chat', 'light', 'zh-CN');
      await mobile.getByRole('button', { name: '返回聊天列表' }).click();
      await shoot(mobile, 'phone-dark-en-list', 'dark', 'en');
      await openWorld();
      await shoot(mobile, 'phone-dark-en-chat', 'dark', 'en');
    } finally {
      await desktop.context.close();
      await phone.context.close();
    }
  });
});
