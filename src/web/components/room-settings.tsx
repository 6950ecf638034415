import { useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import type { RoomInfo, RoomVisibility, UpdateRoomRequest } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { errorText } from './error-text.ts';
import { Modal } from './modal.tsx';
import { RoomTextFields, VisibilityChoice } from './room-fields.tsx';

/** Rename a room, set its topic, make it public or private (its owner and admins). Only what changed is sent. */
export function RoomSettingsDialog({ store, room, onClose }: { store: ChatStore; room: RoomInfo; onClose: () => void }) {
  const [name, setName] = useState(room.name);
  const [topic, setTopic] = useState(room.topic);
  const [visibility, setVisibility] = useState<RoomVisibility>(room.visibility);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const change: UpdateRoomRequest = {
    ...(name.trim() !== room.name ? { name } : {}),
    ...(topic.trim() !== room.topic ? { topic } : {}),
    ...(visibility !== room.visibility ? { visibility } : {}),
  };
  const changed = Object.keys(change).length > 0;

  async function submit(event: Event) {
    event.preventDefault();
    if (!changed || !name.trim() || busy) return;
    setBusy(true);
    setError('');
    try {
      await store.roomApi.update(room.id, change);
      onClose();
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
      setBusy(false);
    }
  }

  return (
    <Modal id="room-settings" title={t('settings.title')} onClose={onClose} size="medium">
      <form class="dialog-body" onSubmit={submit} noValidate>
        <RoomTextFields id="room-settings" name={name} topic={topic} onName={setName} onTopic={setTopic} autofocus />
        <VisibilityChoice name="room-settings-visibility" value={visibility} onChange={setVisibility} />
        <p class="form-error" role="alert">
          {error}
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary-button" onClick={onClose}>
            {t('nav.cancel')}
          </button>
          <button type="submit" class="primary-button" disabled={!changed || !name.trim() || busy}>
            {t('settings.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
