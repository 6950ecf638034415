import { signal } from '@preact/signals';
import { ParleyApi } from '../../client/api.ts';
import { ParleyClientError } from '../../client/errors.ts';
import type { Credentials } from '../../protocol/index.ts';
import type { MessageKey } from '../i18n/i18n.ts';
import { locale, t } from '../i18n/i18n.ts';
import { humanBytes } from '../lib/format.ts';
import { ChatStore } from './chat-store.ts';
import { notify } from './notifications.ts';
import { openConversation, viewingConv } from './route.ts';

export const api = new ParleyApi(location.origin);

export type Auth =
  | { kind: 'loading' }
  /** The server did not answer the page's first question: the session is kept, and asked about again. */
  | { kind: 'unreachable' }
  | { kind: 'signed-out'; notice?: MessageKey }
  | { kind: 'signed-in'; store: ChatStore };

export const auth = signal<Auth>({ kind: 'loading' });

/** Waits between asking again while the server cannot be reached: 1, 2, 4, 8, then every 10 s. */
const RETRY_MS = [1_000, 2_000, 4_000, 8_000, 10_000];

/**
 * On page load: the HttpOnly session cookie decides whether we are signed in. A server that
 * cannot be reached (down, restarting, behind a proxy answering 502) says nothing about the
 * session, so the page says it is retrying instead of showing the sign-in form, and asks again
 * (sooner when the browser comes back online).
 */
export async function boot(attempt = 0): Promise<void> {
  try {
    const { user } = await api.session();
    if (user) enter(user);
    else auth.value = { kind: 'signed-out' };
  } catch (error) {
    const unreachable = !(error instanceof ParleyClientError) || error.code === 'NETWORK' || (error.status ?? 0) >= 500;
    if (!unreachable) {
      auth.value = { kind: 'signed-out' };
      return;
    }
    auth.value = { kind: 'unreachable' };
    await new Promise<void>((resolve) => {
      const again = () => {
        clearTimeout(timer);
        removeEventListener('online', again);
        resolve();
      };
      const timer = setTimeout(again, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
      addEventListener('online', again);
    });
    return boot(attempt + 1);
  }
}

export async function authenticate(mode: 'sign-in' | 'register', credentials: Credentials): Promise<void> {
  const { user } = mode === 'register' ? await api.register(credentials) : await api.login(credentials);
  // The browser holds the session in the HttpOnly cookie; keep no copy of the token in script.
  api.token = null;
  enter(user);
}

export async function signOut(): Promise<void> {
  const current = auth.value;
  // Close our socket first, so the server's "session ended" close is not taken for a remote sign-out.
  if (current.kind === 'signed-in') current.store.stop();
  try {
    await api.logout();
  } catch {
    // Signed out already, or offline: the local sign-out below still happens.
  }
  auth.value = { kind: 'signed-out' };
  // Parts of downloads held for a resume belong to this account: none stay behind it.
  await import('../../client/download-store.ts').then(({ forgetAllDownloads }) => forgetAllDownloads()).catch(() => {});
}

function enter(user: { id: number; name: string }): void {
  const store: ChatStore = new ChatStore(api, user, {
    viewing: () => viewingConv.value,
    onDirectMessage: (message) => {
      const body = message.file
        ? t('notify.fileOffer', { name: message.sender.name, file: message.file.name, size: humanBytes(message.file.size, locale.value) })
        : message.text;
      notify(t('notify.dmTitle', { name: message.sender.name }), body.slice(0, 200), message.conv, () => openConversation(message.conv));
    },
    onSessionEnded: () => {
      if (auth.value.kind === 'signed-in' && auth.value.store === store) {
        store.stop();
        auth.value = { kind: 'signed-out', notice: 'error.sessionEnded' };
      }
    },
  });
  auth.value = { kind: 'signed-in', store };
  store.start();
}
