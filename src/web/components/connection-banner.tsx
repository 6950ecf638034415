import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { WifiOffIcon } from './icons.tsx';

/** Says when the live connection is not up. The first connect only shows if it is slow. */
export function ConnectionBanner({ store }: { store: ChatStore }) {
  const state = store.connection.value;
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    setSlow(false);
    if (state !== 'connecting' && state !== 'syncing') return;
    const timer = setTimeout(() => setSlow(true), 1200);
    return () => clearTimeout(timer);
  }, [state]);

  if (state === 'closed' && !store.stopped.value) {
    // The server ended the session for a reason reconnecting cannot fix (e.g. a newer protocol).
    return (
      <div class="connection-banner visible closed" role="alert" data-testid="connection-banner" data-state="closed">
        <WifiOffIcon size={16} />
        <span class="connection-text">{t('connection.closed')}</span>
        <button type="button" class="text-button on-banner" onClick={() => location.reload()}>
          {t('connection.reload')}
        </button>
      </div>
    );
  }
  const show = state === 'reconnecting' || ((state === 'connecting' || state === 'syncing') && slow);
  return (
    <div class={show ? `connection-banner visible ${state}` : 'connection-banner'} role="status" aria-live="polite" data-testid="connection-banner" data-state={show ? state : 'online'}>
      {show && (
        <>
          {state === 'reconnecting' ? <WifiOffIcon size={16} /> : <span class="spinner small" aria-hidden="true" />}
          <span class="connection-text">
            {state === 'reconnecting' ? t('connection.reconnecting') : state === 'syncing' ? t('connection.syncing') : t('connection.connecting')}
          </span>
          {state === 'reconnecting' && <span class="connection-hint">{t('connection.queued')}</span>}
          {state === 'reconnecting' && (
            <button type="button" class="text-button on-banner" onClick={() => store.session.retryNow()}>
              {t('connection.retryNow')}
            </button>
          )}
        </>
      )}
    </div>
  );
}
