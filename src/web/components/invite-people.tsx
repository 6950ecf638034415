import { useEffect, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import type { Person, RoomInfo } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { errorText } from './error-text.ts';
import { Modal } from './modal.tsx';
import { PeopleChips } from './people-chips.tsx';
import { PeoplePicker } from './people-picker.tsx';

/** Invites people to a room by the first letters of their names; those already in it are shown as such. */
export function InvitePeopleDialog({ store, room, onClose }: { store: ChatStore; room: RoomInfo; onClose: () => void }) {
  const [chosen, setChosen] = useState<Person[]>([]);
  const [members, setMembers] = useState<ReadonlySet<number>>(new Set());
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // Who is in already, so the list can say so instead of offering them.
    store.roomApi.members(room.id).then(
      (page) => setMembers(new Set(page.members.map((member) => member.user.id))),
      () => {},
    );
  }, [room.id]);

  async function submit(event: Event) {
    event.preventDefault();
    if (chosen.length === 0 || busy) return;
    setBusy(true);
    setError('');
    try {
      await store.roomApi.invite(room.id, chosen.map((person) => person.id));
      onClose();
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
      setBusy(false);
    }
  }

  return (
    <Modal id="invite" title={t('invite.title', { room: room.name })} onClose={onClose} size="medium">
      <form class="dialog-body" onSubmit={submit} noValidate>
        <div class="field">
          <PeoplePicker
            store={store}
            id="invite-people"
            label={t('invite.label')}
            autofocus
            unavailable={(person) =>
              members.has(person.id) ? t('people.member') : chosen.some((other) => other.id === person.id) ? t('people.chosen') : null
            }
            onPick={(person) => setChosen((list) => [...list, person])}
            onBackspaceEmpty={() => setChosen((list) => list.slice(0, -1))}
          >
            <PeopleChips people={chosen} onRemove={(person) => setChosen((list) => list.filter((p) => p.id !== person.id))} />
          </PeoplePicker>
        </div>
        <p class="form-error" role="alert">
          {error}
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary-button" onClick={onClose}>
            {t('nav.cancel')}
          </button>
          <button type="submit" class="primary-button" disabled={chosen.length === 0 || busy} data-testid="send-invites">
            {chosen.length > 1 ? t('invite.sendMany', { n: chosen.length }) : t('invite.send')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
