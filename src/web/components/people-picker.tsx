import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Person } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { usePeopleSearch } from '../state/use-people-search.ts';
import { Avatar } from './avatar.tsx';

interface Props {
  store: ChatStore;
  /** Prefix of the ids of the field, its list and its options. */
  id: string;
  label: string;
  hint?: string;
  /** The list always shows under the field (a search of its own), or pops up while the field has the focus. */
  inline?: boolean;
  /** Why someone cannot be picked here (already chosen, already a member), or null when they can. */
  unavailable?: (person: Person) => string | null;
  onPick: (person: Person) => void;
  /** Backspace in the empty field: takes back the last pick (chips). */
  onBackspaceEmpty?: () => void;
  /** Shown inside the field's box before the input: the people picked so far. */
  children?: ComponentChildren;
  autofocus?: boolean;
}

/**
 * Finds people by the first letters of their name, online or not (the people directory), as an
 * ARIA combobox: arrow keys move through the list, Enter picks, Escape closes the list, and a
 * screen reader hears how many were found. Yourself is never offered.
 */
export function PeoplePicker({ store, id, label, hint, inline = false, unavailable, onPick, onBackspaceEmpty, children, autofocus }: Props) {
  const [query, setQuery] = useState('');
  const [focused, setFocused] = useState(false);
  /** The pop-up list shows while typing, or after ArrowDown in the empty field (everyone, by name). */
  const [browsing, setBrowsing] = useState(false);
  /** The option the arrow keys are on, by person: it stays on them when a newer answer still has them. */
  const [activeId, setActiveId] = useState<number | null>(null);
  const open = inline || (focused && (query.trim() !== '' || browsing));
  const search = usePeopleSearch(store.roomApi, query, inline ? 20 : 8, open);
  const people = (search.people ?? []).filter((person) => person.id !== store.me.id);
  const listId = `${id}-list`;
  const optionId = (person: Person) => `${id}-option-${person.id}`;
  const active = people.findIndex((person) => person.id === activeId);
  const activePerson = active >= 0 ? people[active] : undefined;

  /** Enter came before the answer to what was typed: the answer decides (a fast typist's "carol⏎"). */
  const enterPending = useRef(false);
  const settled = search.status === 'done' && search.answered === query.trim();

  /** Whom Enter picks without an active option: the one whose name is the query, else the only one found. */
  const choiceForEnter = (): Person | undefined => {
    const available = people.filter((person) => !unavailable?.(person));
    const wanted = query.trim().toLocaleLowerCase();
    return available.find((person) => person.name.toLocaleLowerCase() === wanted) ?? (available.length === 1 ? available[0] : undefined);
  };

  useEffect(() => {
    if (enterPending.current && settled) {
      enterPending.current = false;
      pick(choiceForEnter());
    }
  }, [search.people, search.answered]);
  useEffect(() => {
    if (activePerson) document.getElementById(optionId(activePerson))?.scrollIntoView({ block: 'nearest' });
  }, [activePerson]);

  const pick = (person: Person | undefined) => {
    if (!person || unavailable?.(person)) return;
    onPick(person);
    setQuery('');
    setBrowsing(false);
    setActiveId(null);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing || event.keyCode === 229) return;
    const step = (by: number) => {
      event.preventDefault();
      setBrowsing(true);
      if (people.length === 0) return;
      const at = active < 0 && by < 0 ? people.length : active;
      setActiveId(people[(at + by + people.length) % people.length]!.id);
    };
    if (event.key === 'ArrowDown') step(1);
    else if (event.key === 'ArrowUp') step(-1);
    else if (event.key === 'Enter') {
      // Enter picks; it never submits the form around the field.
      event.preventDefault();
      if (activePerson) pick(activePerson);
      else if (settled) pick(choiceForEnter());
      else if (query.trim() !== '') enterPending.current = true;
    } else if (event.key === 'Escape' && open && !inline) {
      // The first Escape closes the list; the next one closes the dialog.
      event.preventDefault();
      event.stopPropagation();
      setQuery('');
      setBrowsing(false);
    } else if (event.key === 'Backspace' && query === '' && onBackspaceEmpty) {
      onBackspaceEmpty();
    }
  };

  const status = !settled
    ? ''
    : people.length === 0
      ? query.trim() === ''
        ? t('people.nobody')
        : t('people.noMatch', { prefix: query.trim() })
      : t('people.found', { n: people.length });

  return (
    <div class={inline ? 'picker inline' : 'picker'}>
      <label class="field-label" for={`${id}-input`}>
        {label}
      </label>
      <div class="picker-box">
        {children}
        <input
          id={`${id}-input`}
          class="picker-input"
          type="text"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open && people.length > 0}
          aria-controls={listId}
          aria-activedescendant={activePerson ? optionId(activePerson) : undefined}
          aria-describedby={hint ? `${id}-hint` : undefined}
          autoComplete="off"
          autoCapitalize="off"
          spellcheck={false}
          maxLength={64}
          placeholder={t('people.placeholder')}
          data-autofocus={autofocus ? '' : undefined}
          value={query}
          onInput={(event) => {
            enterPending.current = false;
            // Other letters, other people: nothing is chosen until the arrows choose again.
            setActiveId(null);
            setQuery(event.currentTarget.value);
            setFocused(true);
          }}
          onFocus={() => setFocused(true)}
          onBlur={() => {
            setFocused(false);
            setBrowsing(false);
          }}
          onKeyDown={onKeyDown}
        />
      </div>
      {hint && (
        <p id={`${id}-hint`} class="field-hint">
          {hint}
        </p>
      )}
      {open && (
        <ul id={listId} class="picker-list" role="listbox" aria-label={label} hidden={people.length === 0 && !inline}>
          {people.map((person, index) => {
            const reason = unavailable?.(person) ?? null;
            return (
              <li
                key={person.id}
                id={optionId(person)}
                role="option"
                class={index === active ? 'picker-option active' : 'picker-option'}
                aria-selected={index === active}
                aria-disabled={reason !== null}
                data-person={person.name}
                // Keeps the focus in the field, so the list stays open and the keyboard keeps working.
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => pick(person)}
              >
                <Avatar user={person} size="sm" online={person.online} />
                <span class="picker-name">{person.name}</span>
                <span class="picker-note">{reason ?? (person.online ? t('conv.online') : t('conv.offline'))}</span>
              </li>
            );
          })}
        </ul>
      )}
      {inline && settled && people.length === 0 && <p class="picker-empty">{status}</p>}
      <p class="sr-only" role="status">
        {open ? status : ''}
      </p>
    </div>
  );
}
