import { ROOM_NAME_MAX_CODE_POINTS, ROOM_TOPIC_MAX_CODE_POINTS, type RoomVisibility } from '../../protocol/rooms.ts';
import { t, tn } from '../i18n/i18n.ts';
import { codePoints } from '../lib/format.ts';
import { LockIcon, HashIcon } from './icons.tsx';

/** The counter shows once this share of a limit is used. */
const COUNT_FROM = 0.8;

/** A room's name and topic fields, shared by "New room" and the room settings. */
export function RoomTextFields({
  id,
  name,
  topic,
  onName,
  onTopic,
  autofocus,
}: {
  id: string;
  name: string;
  topic: string;
  onName: (value: string) => void;
  onTopic: (value: string) => void;
  autofocus?: boolean;
}) {
  return (
    <>
      <TextField
        id={`${id}-name`}
        label={t('roomForm.name')}
        placeholder={t('roomForm.namePlaceholder')}
        value={name}
        max={ROOM_NAME_MAX_CODE_POINTS}
        onInput={onName}
        autofocus={autofocus}
        required
      />
      <TextField
        id={`${id}-topic`}
        label={t('roomForm.topic')}
        placeholder={t('roomForm.topicPlaceholder')}
        value={topic}
        max={ROOM_TOPIC_MAX_CODE_POINTS}
        // A topic is one line: a pasted line break becomes a space.
        onInput={(value) => onTopic(value.replace(/[\r\n]+/g, ' '))}
      />
    </>
  );
}

function TextField(props: {
  id: string;
  label: string;
  placeholder: string;
  value: string;
  max: number;
  onInput: (value: string) => void;
  autofocus?: boolean | undefined;
  required?: boolean;
}) {
  const length = codePoints(props.value.trim());
  const over = length - props.max;
  const counter = length >= props.max * COUNT_FROM ? (over > 0 ? t('field.over', { n: over }) : tn('field.left', props.max - length)) : '';
  return (
    <div class="field">
      <span class="field-head">
        <label class="field-label" for={props.id}>
          {props.label}
        </label>
        <span id={`${props.id}-count`} class={over > 0 ? 'field-count over' : 'field-count'} aria-live="polite">
          {counter}
        </span>
      </span>
      <input
        id={props.id}
        value={props.value}
        placeholder={props.placeholder}
        autoComplete="off"
        required={props.required}
        aria-invalid={over > 0}
        aria-describedby={`${props.id}-count`}
        data-autofocus={props.autofocus ? '' : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
    </div>
  );
}

/** Public or private, as two choices that say what each means. */
export function VisibilityChoice({ name, value, onChange }: { name: string; value: RoomVisibility; onChange: (value: RoomVisibility) => void }) {
  const option = (visibility: RoomVisibility, title: string, hint: string) => (
    <label class={value === visibility ? 'choice checked' : 'choice'}>
      <input type="radio" name={name} value={visibility} checked={value === visibility} onChange={() => onChange(visibility)} aria-describedby={`${name}-${visibility}-hint`} />
      <span class="choice-icon" aria-hidden="true">
        {visibility === 'public' ? <HashIcon size={18} /> : <LockIcon size={18} />}
      </span>
      <span class="choice-text">
        <span class="choice-title">{title}</span>
        <span id={`${name}-${visibility}-hint`} class="choice-hint">
          {hint}
        </span>
      </span>
    </label>
  );
  return (
    <fieldset class="field choices">
      <legend class="field-label">{t('roomForm.visibility')}</legend>
      <div class="choice-grid">
        {option('public', t('roomForm.public'), t('roomForm.publicHint'))}
        {option('private', t('roomForm.private'), t('roomForm.privateHint'))}
      </div>
    </fieldset>
  );
}
