import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { ClockIcon, WifiOffIcon } from './icons.tsx';

/**
 * Says when the live connection is not up (the first connect only shows if it is slow), or, while
 * it is, when the server cannot store messages (its database is away): they stay "sending" and go
 * out by themselves once it is back. Both are polite status lines, read out once, not alerts.
 */
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
  // Losing the connection says more (and its hint covers unsent messages), so it goes first.
  const storeDelayed = !show && store.sendsDelayed.value !== null;
  const shown = show ? state : storeDelayed ? 'store-delayed' : 'online';
  return (
    <div class={shown === 'online' ? 'connection-banner' : `connection-banner visible ${shown}`} role="status" aria-live="polite" data-testid="connection-banner" data-state={shown}>
      {storeDelayed && (
        <>
          <ClockIcon size={16} />
          <span class="connection-text">{t('connection.storeDelayed')}</span>
        </>
      )}
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
