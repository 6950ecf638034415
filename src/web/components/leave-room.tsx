import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import type { RoomInfo } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { showList } from '../state/route.ts';
import { errorText } from './error-text.ts';
import { LogOutIcon } from './icons.tsx';

/** "Leave room", with a question first that says whether you can come back on your own. */
export function LeaveRoom({ store, room }: { store: ChatStore; room: RoomInfo }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const answer = useRef<HTMLButtonElement>(null);
  const ask = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);

  useLayoutEffect(() => {
    // The button that was pressed is replaced: the focus follows to what replaced it.
    if (confirming) answer.current?.focus();
    else if (asked.current) ask.current?.focus();
    asked.current = confirming;
  }, [confirming]);

  const leave = async () => {
    setBusy(true);
    setError('');
    try {
      await store.roomApi.leave(room.id);
      store.forget(room.id);
      showList();
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
      setBusy(false);
    }
  };

  if (!confirming) {
    return (
      <button ref={ask} type="button" class="panel-action danger" onClick={() => setConfirming(true)}>
        <span class="panel-action-icon" aria-hidden="true">
          <LogOutIcon size={18} />
        </span>
        {t('members.leave')}
      </button>
    );
  }
  return (
    <div class="leave-confirm" role="group" aria-labelledby="leave-question">
      <p id="leave-question" class="member-question">
        {room.visibility === 'private' ? t('members.leaveConfirmPrivate', { room: room.name }) : t('members.leaveConfirmPublic', { room: room.name })}
      </p>
      <div class="member-buttons">
        <button ref={answer} type="button" class="danger-button" disabled={busy} onClick={() => void leave()}>
          {t('members.leaveYes')}
        </button>
        <button type="button" class="secondary-button small" onClick={() => setConfirming(false)}>
          {t('nav.cancel')}
        </button>
      </div>
      {error && (
        <p class="form-error compact" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
