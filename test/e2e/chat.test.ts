import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../../src/client/api.ts';
import type { TestServer } from '../support/server.ts';
import { startWebTestbed, stopWebTestbed } from './support/testbed.ts';
import {
  PHONE,
  authenticate,
  close,
  hasChromium,
  messageTexts,
  openApp,
  passMarker,
  send,
  signUp,
  unreadBadge,
  until,
  waitForMessage,
  waitOnline,
  type Person,
} from './support/browser.ts';

const PASSWORD = 'correct horse battery';

/** The sidebar entry of the DM with `peer`. */
const dmWith = (page: Page, peer: string) => page.locator('a.conv-item').filter({ has: page.locator('.conv-name', { hasText: new RegExp(`^${peer}$`) }) });

describe.skipIf(!hasChromium)('the web client in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebTestbed());
  }, 240_000);

  afterAll(() => stopWebTestbed(browser, server));

  it('alice and bob chat in the world and in private; bob gets an unread badge; carol never sees the DM', async () => {
    let alice: Person | undefined, bob: Person | undefined, carol: Person | undefined;
    try {
      [alice, bob, carol] = await Promise.all([
        signUp(browser, server.url, 'alice', PASSWORD),
        signUp(browser, server.url, 'bob', PASSWORD),
        signUp(browser, server.url, 'carol', PASSWORD),
      ]);

      await send(alice.page, 'Hello world, this is alice');
      await waitForMessage(bob.page, 'Hello world, this is alice');
      await waitForMessage(carol.page, 'Hello world, this is alice');

      // alice opens the DM from the online list.
      await alice.page.locator('.online-list button[data-user="bob"]').click();
      await until(async () => (await alice!.page.getByTestId('chat-title').textContent()) === 'bob', 'the DM with bob to open');
      await send(alice.page, 'psst bob, this is private');
      await waitForMessage(alice.page, 'psst bob, this is private');
      await until(async () => (await alice!.page.locator('[data-testid="message"][data-status="sent"]').count()) === 1, 'the server to confirm the DM');

      // bob, still in the world chat, sees a badge on a new conversation with alice, and the tab title counts it.
      await until(async () => (await dmWith(bob!.page, 'alice').count()) === 1, "the DM to appear in bob's sidebar");
      const conv = await dmWith(bob.page, 'alice').getAttribute('data-conv');
      expect(conv).toMatch(/^dm:\d+:\d+$/);
      await until(async () => (await unreadBadge(bob!.page, conv!)) === '1', "bob's unread badge");
      expect(await bob.page.title()).toBe('(1) Parley');
      expect(await dmWith(bob.page, 'alice').locator('.conv-preview').textContent()).toBe('psst bob, this is private');

      // bob reads and replies; the badge goes.
      await dmWith(bob.page, 'alice').click();
      await waitForMessage(bob.page, 'psst bob, this is private');
      await until(async () => (await unreadBadge(bob!.page, conv!)) === null, 'the badge to clear');
      expect(await bob.page.title()).toBe('Parley');
      await send(bob.page, 'hi alice, got it');
      await waitForMessage(alice.page, 'hi alice, got it');
      expect(await messageTexts(alice.page)).toEqual(['psst bob, this is private', 'hi alice, got it']);

      // carol: no such conversation in her sidebar, never the text on screen, and the server says "not found".
      // Her own message, committed after the DM, reaches her after anything of the DM would have.
      await passMarker(carol.page, [carol.page], 'carol was here all along');
      expect(await carol.page.locator('a.conv-item').count()).toBe(1);
      expect(await carol.page.content()).not.toContain('psst bob');
      const peek = await carol.page.request.get(`${server.url}/api/conversations/${encodeURIComponent(conv!)}/messages`);
      expect(peek.status()).toBe(404);
    } finally {
      await close(alice, bob, carol);
    }
  });

  it('a reload keeps the session and the history; signing out and in again shows it too', async () => {
    let dora: Person | undefined;
    try {
      dora = await signUp(browser, server.url, 'dora', PASSWORD);
      await send(dora.page, 'remember me\nacross reloads');
      await until(async () => (await dora!.page.locator('[data-testid="message"][data-status="sent"]').filter({ hasText: 'remember me' }).count()) === 1, 'the ack');

      await dora.page.reload();
      await waitOnline(dora.page);
      expect(await dora.page.getByTestId('me').textContent()).toBe('dora');
      await waitForMessage(dora.page, 'remember me\nacross reloads');

      await dora.page.getByTestId('sign-out').click();
      await dora.page.locator('#auth-form').waitFor();
      // Signed out for real: the cookie no longer opens the API.
      expect((await dora.page.request.get(`${server.url}/api/me`)).status()).toBe(401);

      await authenticate(dora.page, 'sign-in', 'dora', PASSWORD);
      await waitOnline(dora.page);
      await waitForMessage(dora.page, 'remember me\nacross reloads');
      // The line break is kept on screen.
      const box = dora.page.getByTestId('message-text').filter({ hasText: 'remember me' });
      expect(await box.evaluate((node) => (node as HTMLElement).innerText)).toBe('remember me\nacross reloads');
    } finally {
      await close(dora);
    }
  });

  it('sign-in errors are shown inline, in the language of the page', async () => {
    const opened = await openApp(browser, server.url, { locale: 'zh-CN' });
    const { page } = opened;
    try {
      await authenticate(page, 'register', 'erin', PASSWORD);
      await waitOnline(page);
      await page.getByTestId('sign-out').click();

      const error = page.getByTestId('auth-error');
      await authenticate(page, 'register', 'ERIN', PASSWORD);
      await until(async () => (await error.textContent()) === '账号已存在', 'the name-taken error');
      await authenticate(page, 'sign-in', 'erin', 'wrong password!');
      await until(async () => (await error.textContent()) === '账号或密码错误', 'the wrong-password error');
      await authenticate(page, 'register', 'bad name!', PASSWORD);
      await until(async () => (await error.textContent())?.startsWith('用户名为') ?? false, 'the name rule');
      // This browser registered erin, so it is a known device: held after its own 10 failures
      // and then the 5 of an unknown device (docs/SECURITY.md, "Failed logins").
      for (let i = 0; i < 15; i++) {
        await authenticate(page, 'sign-in', 'erin', `wrong password ${i}`);
        await until(async () => (await error.textContent()) !== '', 'an error');
        if ((await error.textContent())?.includes('后再试')) break;
      }
      // The wait in minutes and seconds, not a count of seconds in the hundreds.
      await until(async () => /^尝试次数过多，请 1?\d 分 \d{1,2} 秒后再试$/.test((await error.textContent()) ?? ''), 'the rate-limit message');
      expect(await page.getByTestId('auth-submit').isDisabled()).toBe(true);
    } finally {
      await opened.context.close();
    }
  });

  it('a failed send says so and is retried with the same client id, so it is stored once', async () => {
    const opened = await openApp(browser, server.url);
    const { context, page } = opened;
    let sabotaged: string | null = null;
    let retried = false;
    // Between page and server: the first send of "flaky network" reaches the server, but the page
    // is told it failed and never hears of the commit, as when a connection breaks at the wrong moment.
    await context.routeWebSocket(/\/ws$/, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((data) => {
        const frame = JSON.parse(String(data)) as { type: string; text?: string; clientId?: string };
        if (frame.type === 'send' && frame.text === 'flaky network') {
          if (sabotaged === null) {
            sabotaged = frame.clientId!;
            upstream.send(data);
            ws.send(JSON.stringify({ type: 'error', code: 'INTERNAL', message: 'simulated failure', clientId: frame.clientId }));
            return;
          }
          retried = frame.clientId === sabotaged;
        }
        upstream.send(data);
      });
      upstream.onMessage((data) => {
        const frame = JSON.parse(String(data)) as { type: string; clientId?: string; message?: { clientId: string } };
        const about = frame.clientId ?? frame.message?.clientId;
        if (about && about === sabotaged && !retried) return;
        ws.send(data);
      });
    });
    let witness: Person | undefined;
    try {
      await authenticate(page, 'register', 'frank', PASSWORD);
      await waitOnline(page);
      witness = await signUp(browser, server.url, 'gina', PASSWORD);

      await send(page, 'flaky network');
      const failed = page.locator('[data-testid="message"][data-status="failed"]');
      await failed.waitFor();
      expect(await failed.getByRole('alert').textContent()).toContain('Not sent');
      // The server did store it: the other person sees it once.
      await waitForMessage(witness.page, 'flaky network');

      await failed.getByTestId('retry').click();
      await until(async () => (await page.locator('[data-testid="message"][data-status="sent"]').filter({ hasText: 'flaky network' }).count()) === 1, 'the retry to be confirmed');
      expect(retried).toBe(true);
      await passMarker(witness.page, [page, witness.page], 'after the retry');
      const count = (texts: string[]) => texts.filter((text) => text === 'flaky network').length;
      expect(count(await messageTexts(page))).toBe(1);
      expect(count(await messageTexts(witness.page))).toBe(1);
      const history = await (await page.request.get(`${server.url}/api/conversations/world/messages?limit=100`)).json();
      expect(count(history.messages.map((m: { text: string }) => m.text))).toBe(1);
    } finally {
      await close(witness);
      await context.close();
    }
  });

  it('installs a service worker that caches the app shell and nothing from the API', async () => {
    let nina: Person | undefined;
    try {
      nina = await signUp(browser, server.url, 'nina', PASSWORD);
      const { page } = nina;
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
      page.on('console', (m) => failed.push(`console ${m.text()}`));
      await until(
        () => page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.active && (await caches.keys()).length > 0),
        'the service worker to be active',
        20_000,
      ).catch(async (e: Error) => {
        const info = await page.evaluate(async () => {
          const r = await navigator.serviceWorker.getRegistration();
          return { has: !!r, i: r?.installing?.state, w: r?.waiting?.state, a: r?.active?.state, keys: await caches.keys(), ready: document.readyState, secure: isSecureContext };
        });
        throw new Error(`${e.message} ${JSON.stringify(info)} ${failed.join(' | ')}`);
      });
      const cached = await page.evaluate(async () => {
        const paths: string[] = [];
        for (const key of await caches.keys()) {
          for (const request of await (await caches.open(key)).keys()) paths.push(new URL(request.url).pathname);
        }
        return paths;
      });
      expect(cached).toContain('/');
      expect(cached).toContain('/manifest.webmanifest');
      expect(cached.some((path) => path.startsWith('/assets/') && path.endsWith('.js'))).toBe(true);
      expect(cached.filter((path) => path.startsWith('/api') || path === '/ws')).toEqual([]);
    } finally {
      await close(nina);
    }
  });

  it('notifies of a direct message when the tab is hidden (once opted in), and the tab title counts unread', async () => {
    let kim: Person | undefined, lee: Person | undefined;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    // A stand-in for the browser's Notification and page visibility, which headless Chromium cannot show.
    await context.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      const notes: { title: string; body?: string; tag?: string }[] = [];
      w.__notes = notes;
      class FakeNotification {
        static permission: NotificationPermission = 'default';
        static async requestPermission() {
          FakeNotification.permission = 'granted';
          return 'granted' as const;
        }
        onclick: (() => void) | null = null;
        constructor(title: string, options?: NotificationOptions) {
          notes.push({ title, body: options?.body, tag: options?.tag });
        }
        close() {}
      }
      w.Notification = FakeNotification;
      let hidden = false;
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
      w.__setHidden = (value: boolean) => {
        hidden = value;
        document.dispatchEvent(new Event('visibilitychange'));
      };
    });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await authenticate(page, 'register', 'kim', PASSWORD);
      await waitOnline(page);
      kim = { name: 'kim', context, page, pwned: [] };
      lee = await signUp(browser, server.url, 'lee', PASSWORD);

      const bell = page.getByRole('button', { name: 'Desktop notifications for direct messages' });
      expect(await bell.getAttribute('aria-pressed')).toBe('false');
      await bell.click();
      await until(async () => (await bell.getAttribute('aria-pressed')) === 'true', 'notifications on');

      await page.evaluate(() => (window as unknown as { __setHidden: (v: boolean) => void }).__setHidden(true));
      await lee.page.locator('.online-list button[data-user="kim"]').click();
      await send(lee.page, 'ping kim');
      await send(lee.page, 'are you there?');
      await lee.page.locator('a.conv-item[data-conv="world"]').click();
      await send(lee.page, 'world ping');
      const notes = () => page.evaluate(() => (window as unknown as { __notes: { title: string; body?: string }[] }).__notes);
      await until(async () => (await notes()).length === 2, 'two notifications');
      expect((await notes()).map((n) => [n.title, n.body])).toEqual([
        ['lee · Parley', 'ping kim'],
        ['lee · Parley', 'are you there?'],
      ]);
      // Hidden, so even the world chat kim has open counts as unread.
      await until(async () => (await page.title()) === '(3) Parley', 'the title to count 3 unread').catch(async (error: Error) => {
        const badges = await page.locator('a.conv-item').evaluateAll((items) => items.map((a) => a.textContent));
        throw new Error(`${error.message}: title ${JSON.stringify(await page.title())}, sidebar ${JSON.stringify(badges)}`);
      });
      await page.evaluate(() => (window as unknown as { __setHidden: (v: boolean) => void }).__setHidden(false));
      await until(async () => (await page.title()) === '(2) Parley', 'the world chat to be read on return');
      // A message arriving while the tab is visible comes after anything still on its way: no notification for either.
      await passMarker(lee.page, [page], 'back in the world chat');
      expect((await notes()).length).toBe(2);
    } finally {
      await close(kim, lee);
    }
  });

  it('works from the keyboard alone, with a visible focus ring', async () => {
    let mia: Person | undefined;
    try {
      mia = await signUp(browser, server.url, 'mia', PASSWORD);
      const { page } = mia;
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const focused = () => page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return { tag: el.tagName, conv: el.dataset.conv ?? null, testid: el.dataset.testid ?? null, outline: getComputedStyle(el).outlineStyle };
      });
      let onWorld = false;
      for (let i = 0; i < 12 && !onWorld; i++) {
        await page.keyboard.press('Tab');
        onWorld = (await focused()).conv === 'world';
      }
      expect(onWorld).toBe(true);
      expect((await focused()).outline).not.toBe('none');
      await page.keyboard.press('Enter');
      await until(() => page.url().endsWith('#/c/world'), 'the world chat to open');
      let onComposer = false;
      for (let i = 0; i < 20 && !onComposer; i++) {
        await page.keyboard.press('Tab');
        onComposer = (await focused()).testid === 'composer';
      }
      expect(onComposer).toBe(true);
      await page.keyboard.type('typed without a mouse');
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('second line');
      await page.keyboard.press('Enter');
      await waitForMessage(page, 'typed without a mouse\nsecond line');

      // The length limit shows near the limit, and a text over it cannot be sent.
      const counter = page.getByTestId('composer-count');
      await page.getByTestId('composer').fill('x'.repeat(3000));
      expect(await counter.textContent()).toBe('');
      await page.getByTestId('composer').fill('字'.repeat(3300));
      expect(await counter.textContent()).toBe('700 characters left');
      await page.getByTestId('composer').fill('😀'.repeat(4001));
      expect(await counter.textContent()).toBe('Over the limit by 1');
      expect(await page.getByTestId('send').isDisabled()).toBe(true);
      await page.getByTestId('composer').press('Enter');
      // A message that fits, sent next, shows after the refused one would have.
      await page.getByTestId('composer').fill('this one fits');
      await page.getByTestId('composer').press('Enter');
      await waitForMessage(page, 'this one fits');
      expect((await messageTexts(page)).some((text) => text.startsWith('😀'))).toBe(false);
    } finally {
      await close(mia);
    }
  });

  it('opens a conversation with anyone by name, online or not, from the new-message dialog', async () => {
    let pia: Person | undefined;
    try {
      await new ParleyApi(server.url).register({ name: 'Oscar', password: PASSWORD });
      pia = await signUp(browser, server.url, 'pia', PASSWORD);
      const { page } = pia;
      await page.getByRole('button', { name: 'New message' }).click();
      const dialog = page.getByRole('dialog', { name: 'Start a conversation' });
      const field = dialog.getByRole('combobox', { name: 'Find people by name' });
      await field.fill('nobody');
      await until(async () => (await dialog.locator('.picker-empty').textContent()) === 'No one whose name starts with “nobody”.', 'no one found');
      // The first letters are enough, in any case; Enter picks the only one found.
      await field.fill('osc');
      await until(async () => (await dialog.getByRole('option').count()) === 1, 'Oscar found');
      await field.press('Enter');
      await until(async () => (await page.getByTestId('chat-title').textContent()) === 'Oscar', 'the DM with Oscar');
      expect(await page.locator('.chat-subtitle').textContent()).toBe('offline');
      expect(await dialog.count()).toBe(0);
      await send(page, 'for when you are back');
      await until(async () => (await page.locator('[data-testid="message"][data-status="sent"]').count()) === 1, 'the ack');
    } finally {
      await close(pia);
    }
  });

  it('switching to English and back to Chinese changes the interface, and the choice is remembered', async () => {
    let hana: Person | undefined;
    try {
      hana = await signUp(browser, server.url, 'hana', PASSWORD, { locale: 'zh-CN' });
      const { page } = hana;
      const worldName = () => page.locator('a.conv-item[data-conv="world"] .conv-name').textContent();
      expect(await worldName()).toBe('世界聊天室');
      expect(await page.locator('#online-heading span').first().textContent()).toBe('在线用户');
      expect(await page.getByTestId('composer').getAttribute('placeholder')).toBe('在世界聊天室发言');
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');

      await page.getByTestId('language-switch').click();
      expect(await worldName()).toBe('World chat');
      expect(await page.locator('#online-heading span').first().textContent()).toBe('Online');
      expect(await page.getByTestId('composer').getAttribute('placeholder')).toBe('Message the world chat');
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');

      await page.reload();
      await waitOnline(page);
      expect(await worldName()).toBe('World chat');

      await page.getByTestId('language-switch').click();
      expect(await worldName()).toBe('世界聊天室');
      expect(await page.getByTestId('sign-out').getAttribute('aria-label')).toBe('退出登录');
    } finally {
      await close(hana);
    }
  });

  it('at phone width the conversation list and the chat are both reachable', async () => {
    let ivan: Person | undefined, jade: Person | undefined;
    try {
      jade = await signUp(browser, server.url, 'jade', PASSWORD);
      ivan = await signUp(browser, server.url, 'ivan', PASSWORD, { viewport: PHONE, isMobile: true, hasTouch: true });
      const { page } = ivan;
      const sidebar = page.locator('aside.sidebar');
      const chat = page.locator('main.main');
      // Home is the list.
      expect(await sidebar.isVisible()).toBe(true);
      expect(await chat.isVisible()).toBe(false);

      await page.locator('a.conv-item[data-conv="world"]').click();
      await until(() => chat.isVisible(), 'the chat to show');
      expect(await sidebar.isVisible()).toBe(false);
      await send(page, 'hello from a phone');
      await waitForMessage(jade.page, 'hello from a phone');

      await page.getByRole('button', { name: 'Back to chats' }).click();
      await until(() => sidebar.isVisible(), 'the list to come back');
      await page.locator('.online-list button[data-user="jade"]').click();
      await until(async () => (await page.getByTestId('chat-title').textContent()) === 'jade', 'the DM to open');
      await send(page, 'private, from a phone');
      await waitForMessage(page, 'private, from a phone');
      // Nothing sticks out sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    } finally {
      await close(ivan, jade);
    }
  });
});
