import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n.ts';
import { signOut } from '../state/auth.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { notifyState, toggleNotifications } from '../state/notifications.ts';
import { Avatar } from './avatar.tsx';
import { ChangePasswordDialog } from './change-password.tsx';
import { BellIcon, BellOffIcon, DownloadIcon, KeyIcon, LogOutIcon } from './icons.tsx';
import { LanguageSwitch } from './language-switch.tsx';

/** You, your connection, and one-click language, notifications, your data, your password and sign out. */
export function UserBar({ store }: { store: ChatStore }) {
  const notify = notifyState.value;
  const notifyLabel =
    notify === 'denied' ? t('menu.notificationsDenied') : notify === 'unsupported' ? t('menu.notificationsUnsupported') : t('menu.notifications');
  const connected = store.connection.value === 'online';
  const [changingPassword, setChangingPassword] = useState(false);
  return (
    <footer class="user-bar">
      <Avatar user={store.me} size="sm" online={connected} />
      <span class="user-bar-name">
        <span class="user-bar-caption">{t('menu.signedInAs')}</span>
        <span class="user-bar-me" data-testid="me">
          {store.me.name}
        </span>
      </span>
      <LanguageSwitch compact />
      <button
        type="button"
        class="icon-button"
        aria-pressed={notify === 'on'}
        aria-label={notifyLabel}
        title={notifyLabel}
        disabled={notify === 'denied' || notify === 'unsupported'}
        onClick={() => void toggleNotifications()}
      >
        {notify === 'on' ? <BellIcon size={18} /> : <BellOffIcon size={18} />}
      </button>
      {/* The session cookie goes with a same-origin link: the browser saves the NDJSON the server sends. */}
      <a class="icon-button" href="/api/me/export" download aria-label={t('menu.downloadData')} title={t('menu.downloadData')} data-testid="download-data">
        <DownloadIcon size={18} />
      </a>
      <button
        type="button"
        class="icon-button"
        aria-label={t('menu.changePassword')}
        title={t('menu.changePassword')}
        aria-haspopup="dialog"
        data-testid="change-password"
        onClick={() => setChangingPassword(true)}
      >
        <KeyIcon size={18} />
      </button>
      <button type="button" class="icon-button" aria-label={t('menu.signOut')} title={t('menu.signOut')} data-testid="sign-out" onClick={() => void signOut()}>
        <LogOutIcon size={18} />
      </button>
      {changingPassword && <ChangePasswordDialog onClose={() => setChangingPassword(false)} />}
    </footer>
  );
}
