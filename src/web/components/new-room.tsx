import { useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import type { Person, RoomVisibility } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { openConversation } from '../state/route.ts';
import { errorText } from './error-text.ts';
import { Modal } from './modal.tsx';
import { PeopleChips } from './people-chips.tsx';
import { PeoplePicker } from './people-picker.tsx';
import { RoomTextFields, VisibilityChoice } from './room-fields.tsx';

/** Creates a room: its name, an optional topic, public or private, and the people to invite at once. */
export function NewRoomDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [visibility, setVisibility] = useState<RoomVisibility>('public');
  const [invited, setInvited] = useState<Person[]>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!name.trim() || busy) return;
    setBusy(true);
    setError('');
    try {
      const room = await store.roomApi.create({ name, topic, visibility, invite: invited.map((person) => person.id) });
      store.adopt(room);
      onClose();
      openConversation(room.id);
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal id="new-room" title={t('newRoom.title')} onClose={onClose} size="medium">
      <form class="dialog-body" onSubmit={submit} noValidate>
        <RoomTextFields id="new-room" name={name} topic={topic} onName={setName} onTopic={setTopic} autofocus />
        <VisibilityChoice name="new-room-visibility" value={visibility} onChange={setVisibility} />
        <div class="field">
          <PeoplePicker
            store={store}
            id="new-room-invite"
            label={t('newRoom.invite')}
            unavailable={(person) => (invited.some((chosen) => chosen.id === person.id) ? t('people.chosen') : null)}
            onPick={(person) => setInvited((list) => [...list, person])}
            onBackspaceEmpty={() => setInvited((list) => list.slice(0, -1))}
          >
            <PeopleChips people={invited} onRemove={(person) => setInvited((list) => list.filter((p) => p.id !== person.id))} />
          </PeoplePicker>
        </div>
        <p class="form-error" role="alert">
          {error}
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary-button" onClick={onClose}>
            {t('nav.cancel')}
          </button>
          <button type="submit" class="primary-button" disabled={!name.trim() || busy} data-testid="create-room">
            {t('newRoom.create')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
