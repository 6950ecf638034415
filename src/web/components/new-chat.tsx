import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import { t } from '../i18n/i18n.ts';
import { api } from '../state/auth.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { openConversation } from '../state/route.ts';
import { errorText } from './error-text.ts';

/** Opens a conversation with anyone by name, online or not. A native modal dialog: focus stays inside, Escape closes. */
export function NewChatDialog({ store, onClose }: { store: ChatStore; onClose: (opened: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  // Before the first paint, so the dialog never shows as a non-modal box, and the focus is in it at once.
  useLayoutEffect(() => {
    dialog.current?.showModal();
  }, []);

  async function submit(event: Event) {
    event.preventDefault();
    const wanted = name.trim();
    if (!wanted || busy) return;
    setBusy(true);
    try {
      const user = await api.user(wanted);
      if (user.id === store.me.id) {
        setError(t('nav.notYourself'));
        return;
      }
      openConversation(store.directWith(user));
      onClose(true);
    } catch (failure) {
      const code = failure instanceof ParleyClientError ? failure.code : 'NETWORK';
      setError(code === 'NOT_FOUND' ? t('nav.userNotFound', { name: wanted }) : t(errorText(code)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="new-chat-title" onClose={() => onClose(false)} onCancel={() => onClose(false)}>
      <form class="dialog-body" onSubmit={submit}>
        <h2 id="new-chat-title" class="dialog-title">
          {t('nav.newChatTitle')}
        </h2>
        <label class="field">
          <span class="field-label">{t('nav.newChatLabel')}</span>
          <input
            value={name}
            autoComplete="off"
            autoCapitalize="off"
            spellcheck={false}
            maxLength={64}
            onInput={(e) => {
              setName(e.currentTarget.value);
              setError('');
            }}
          />
        </label>
        <p class="form-error" role="alert">
          {error}
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary-button" onClick={() => onClose(false)}>
            {t('nav.cancel')}
          </button>
          <button type="submit" class="primary-button" disabled={!name.trim() || busy}>
            {t('nav.newChatGo')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
