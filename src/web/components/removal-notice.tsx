import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { CloseIcon, InfoIcon } from './icons.tsx';

/**
 * Tells a member who was removed from a room, politely, who did it: the room has just vanished
 * from their list, and without this they would not know why. It stays until dismissed (no
 * timer to race a slow reader). The live region is always on the page, so its news is spoken.
 */
export function RemovalNotice({ store }: { store: ChatStore }) {
  const removal = store.removal.value;
  return (
    <div class={removal ? 'toast visible' : 'toast'} role="status" data-testid="removal-notice">
      {removal && (
        <>
          <span class="toast-icon" aria-hidden="true">
            <InfoIcon size={18} />
          </span>
          <p class="toast-text">{t('notice.removed', { by: removal.by.name, room: removal.room })}</p>
          <button
            type="button"
            class="icon-button small"
            aria-label={t('notice.dismiss')}
            title={t('notice.dismiss')}
            onClick={() => {
              store.removal.value = null;
              // The button goes with the notice: the focus goes to writing, where the user was.
              document.querySelector<HTMLElement>('[data-testid="composer"]')?.focus();
            }}
          >
            <CloseIcon size={16} />
          </button>
        </>
      )}
    </div>
  );
}
