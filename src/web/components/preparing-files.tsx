import type { ConversationId } from '../../protocol/conversations.ts';
import { t } from '../i18n/i18n.ts';
import { extensionOf, kindOf, percentOf } from '../lib/format.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { errorText } from './error-text.ts';
import { FileIcon, displayName } from './file-card.tsx';
import { CloseIcon } from './icons.tsx';

/** Files being hashed before their offer goes out, and offers that failed, above the composer. */
export function PreparingFiles({ store, conv }: { store: ChatStore; conv: ConversationId }) {
  const items = store.files.preparing.value.filter((item) => item.conv === conv);
  if (items.length === 0) return null;
  return (
    <ul class="preparing" role="list">
      {items.map((item) => {
        const name = displayName(item.name);
        const percent = item.progress ? percentOf(item.progress.done, item.progress.total) : 0;
        return (
          <li key={item.key} class={item.error ? 'preparing-item failed' : 'preparing-item'} data-testid="preparing">
            <FileIcon kind={kindOf(item.name, '')} extension={extensionOf(item.name)} />
            <div class="preparing-main">
              {item.error ? (
                <p class="preparing-text" role="alert">
                  {t('file.offerFailed', { name, reason: t(errorText(item.error), { s: 1 }) })}
                </p>
              ) : item.waitingForStore ? (
                <p class="preparing-text" role="status" data-state="store-delayed">
                  {t('file.offerWaiting', { name })}
                </p>
              ) : (
                <>
                  <p class="preparing-text">{t('file.preparing', { name })}</p>
                  <div class="file-bar small" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-label={t('file.preparing', { name })}>
                    <span class="file-bar-fill" style={{ width: `${percent}%` }} />
                  </div>
                </>
              )}
            </div>
            <button
              type="button"
              class="icon-button"
              aria-label={item.error ? t('file.dismiss') : t('file.cancel')}
              title={item.error ? t('file.dismiss') : t('file.cancel')}
              onClick={() => store.files.dismiss(item.key)}
            >
              <CloseIcon size={18} />
            </button>
          </li>
        );
      })}
    </ul>
  );
}
