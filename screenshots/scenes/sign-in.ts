import { DESKTOP, PHONE, openApp } from '../../test/e2e/support/browser.ts';
import type { Scene } from '../stage.ts';

/** The sign-in screen: desktop in light Chinese and dark English, and a phone. */
export const signInScene: Scene = {
  name: 'sign-in',
  async run({ server, browser, shoot }) {
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
  },
};
