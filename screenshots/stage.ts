import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../test/support/server.ts';
import { until } from '../test/e2e/support/browser.ts';

export type Scheme = 'light' | 'dark';
export type Language = 'en' | 'zh-CN';

/** What a scene gets: its own server (fresh data folder, built client), Chromium, and the camera. */
export interface Stage {
  server: TestServer;
  browser: Browser;
  /** Saves `<name>.png` of the page as it is, in the given colour scheme and UI language. */
  shoot(page: Page, name: string, scheme: Scheme, language: Language): Promise<void>;
}

/**
 * One set of pictures: it seeds its server through the real protocol, drives the built client in
 * Chromium, and calls `stage.shoot` for each picture. Scenes are listed in scenes/index.ts.
 */
export interface Scene {
  /** Picks the scene on the command line: `npm run screenshots -- files`. */
  name: string;
  /** Extra `parley serve` flags for this scene's server. */
  flags?: string[];
  run(stage: Stage): Promise<void>;
}

/** Sets the language through the UI, as a person would. */
export async function useLanguage(page: Page, language: Language): Promise<void> {
  const current = await page.evaluate(() => document.documentElement.lang);
  if (current !== language) await page.getByTestId('language-switch').click();
  await until(async () => (await page.evaluate(() => document.documentElement.lang)) === language, `language ${language}`);
}

/** A camera that writes into `dir` (ending in "/") and remembers what it wrote. */
export function camera(dir: string, written: string[]): Stage['shoot'] {
  return async (page, name, scheme, language) => {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
    await useLanguage(page, language);
    await page.mouse.move(0, 0);
    // Lets the theme and language switch finish painting (reduced motion: no transitions run).
    await page.waitForTimeout(250);
    const path = `${dir}${name}.png`;
    await page.screenshot({ path });
    written.push(path);
  };
}
