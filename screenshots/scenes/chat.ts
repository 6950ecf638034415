import { connect, registerUser } from '../../test/support/clients.ts';
import { DESKTOP, PHONE, authenticate, openApp, until, waitForMessage, waitOnline } from '../../test/e2e/support/browser.ts';
import type { Scene } from '../stage.ts';

const PASSWORD = 'correct horse battery';
const NAMES = ['alice', 'bob', '陈静', 'emma', 'dmitri'] as const;
type Name = (typeof NAMES)[number];

/**
 * A lively class chat seen by alice: the world chat and a DM with unread messages, on a desktop
 * and a phone, light and dark, Chinese and English.
 */
export const chatScene: Scene = {
  name: 'chat',
  async run({ server, browser, shoot }) {
    const users = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await registerUser(server.url, name, PASSWORD)] as const)));
    const live = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await connect(users[name]!.api)] as const)));
    const say = (name: Name, text: string, conv = 'world') => live[name]!.session.send(conv, text);
    const dm = (a: Name, b: Name) => {
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
    // alice and dmitri show as offline; the others stay online.
    live.alice!.close();
    live.dmitri!.close();

    const desktop = await openApp(browser, server.url, { viewport: DESKTOP, locale: 'en-US', deviceScaleFactor: 1 });
    const phone = await openApp(browser, server.url, { viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      for (const { page } of [desktop, phone]) {
        await authenticate(page, 'sign-in', 'alice', PASSWORD);
        await waitOnline(page);
      }
      const { page } = desktop;
      await waitForMessage(page, 'See you there 🙌');
      await until(async () => (await page.locator('a.conv-item .badge').textContent().catch(() => null)) === '2', 'the unread badge "2" of the DM with bob');
      await page.getByTestId('composer').fill('Great — see you all on Saturday!');
      await shoot(page, 'desktop-light-en', 'light', 'en');
      await shoot(page, 'desktop-dark-zh', 'dark', 'zh-CN');
      await shoot(page, 'desktop-light-zh', 'light', 'zh-CN');
      await shoot(page, 'desktop-dark-en', 'dark', 'en');

      await page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: /^bob$/ }) }).click();
      await waitForMessage(page, 'No rush, tomorrow works too.');
      await shoot(page, 'desktop-light-en-dm', 'light', 'en');

      // On a phone the language switch lives on the list screen, so each language is chosen there.
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
      for (const client of Object.values(live)) client.close();
    }
  },
};
