import type { UserRef } from '../../protocol/frames.ts';
import { t } from '../i18n/i18n.ts';
import { Avatar } from './avatar.tsx';
import { CloseIcon } from './icons.tsx';

/** The people picked so far, each with a button that takes them back; shown inside the picker's box. */
export function PeopleChips({ people, onRemove }: { people: readonly UserRef[]; onRemove: (person: UserRef) => void }) {
  if (people.length === 0) return null;
  return (
    <ul class="chips" aria-label={t('people.picked')}>
      {people.map((person) => (
        <li key={person.id} class="chip" data-person={person.name}>
          <Avatar user={person} size="xs" />
          <span class="chip-name">{person.name}</span>
          <button
            type="button"
            class="chip-remove"
            aria-label={t('people.unpick', { name: person.name })}
            title={t('people.unpick', { name: person.name })}
            onClick={(event) => {
              // The button goes away with the chip: the focus stays in the field instead.
              const input = event.currentTarget.closest('.picker-box')?.querySelector('input');
              onRemove(person);
              input?.focus();
            }}
          >
            <CloseIcon size={13} />
          </button>
        </li>
      ))}
    </ul>
  );
}
