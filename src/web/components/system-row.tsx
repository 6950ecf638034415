import type { UserRef } from '../../protocol/frames.ts';
import { locale } from '../i18n/i18n.ts';
import type { SystemRow } from '../lib/rows.ts';
import { clockTime, fullTime } from '../lib/time.ts';
import { systemParts } from '../lib/room-words.ts';

/** A change of the room ("alice invited bob"), in the reader's language, centred between the messages. */
export function SystemLine({ row, me }: { row: SystemRow; me: UserRef }) {
  const time = clockTime(row.ts, locale.value);
  return (
    <div class="system-line">
      <p class="system-text">
        <span data-testid="system-text">{systemParts(row.message, me).map((part) => (typeof part === 'string' ? part : <strong>{part.name}</strong>))}</span>
        <time class="system-time" dateTime={new Date(row.ts).toISOString()} title={fullTime(row.ts, locale.value)}>
          {time}
        </time>
      </p>
    </div>
  );
}
