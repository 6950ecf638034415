import { locale, t } from '../i18n/i18n.ts';
import { avatarColor } from '../lib/avatar.ts';
import type { MessageRow } from '../lib/rows.ts';
import { clockTime, fullTime } from '../lib/time.ts';
import { Avatar } from './avatar.tsx';
import { errorText } from './error-text.ts';
import { AlertIcon, CheckIcon, ClockIcon, RetryIcon } from './icons.tsx';
import { RichText as MessageText } from './rich-text.tsx';

interface Props {
  row: MessageRow;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
}

/**
 * One message as a bubble: others on the left with avatar and name at the start of a run, yours on
 * the right. To a screen reader it is an article named by who wrote it and when (every message,
 * not only the first of a run), with its text and, for yours, whether it was sent.
 */
export function MessageView({ row, onRetry, onDiscard }: Props) {
  const classes = ['msg', row.own ? 'own' : 'other', row.first ? 'first' : '', row.last ? 'last' : '', row.status].filter(Boolean).join(' ');
  const time = clockTime(row.ts, locale.value);
  return (
    <article class={classes} data-testid="message" data-status={row.status} aria-label={messageLabel(row, time)}>
      {!row.own && <div class="msg-avatar">{row.first && <Avatar user={row.sender} size="sm" />}</div>}
      <div class="msg-body">
        <div class="bubble">
          {row.named && (
            // In the article's name already.
            <div class="msg-sender" style={{ '--sender': avatarColor(row.sender.id) }} data-testid="sender" aria-hidden="true">
              {row.sender.name}
            </div>
          )}
          <div class="msg-text">
            <span data-testid="message-text">
              <MessageText text={row.text} />
            </span>
            {/* An invisible copy of the time keeps the last line clear of it, in any locale. */}
            <span class="msg-meta-spacer" aria-hidden="true">
              {time}
              {row.own && <span class="msg-status-space" />}
            </span>
          </div>
          <span class="msg-meta">
            <time dateTime={new Date(row.ts).toISOString()} title={fullTime(row.ts, locale.value)} aria-hidden="true">
              {time}
            </time>
            {row.own && <StatusMark status={row.status} />}
          </span>
        </div>
        {row.status === 'failed' && row.echo && (
          <div class="msg-failed" role="alert">
            <AlertIcon size={15} />
            <span>
              {row.echo.error && row.echo.error !== 'DISCONNECTED'
                ? t('chat.failedBecause', { reason: t(errorText(row.echo.error), { s: 1 }) })
                : t('chat.failed')}
            </span>
            <button type="button" class="text-button" data-testid="retry" onClick={() => onRetry(row.echo!.clientId)}>
              <RetryIcon size={14} />
              {t('chat.retry')}
            </button>
            <button type="button" class="text-button subtle" onClick={() => onDiscard(row.echo!.clientId)}>
              {t('chat.discard')}
            </button>
          </div>
        )}
      </div>
    </article>
  );
}

/** "bob, 14:05": who wrote it and when, for every message (the visible name shows once per run). */
export function messageLabel(row: MessageRow, time: string): string {
  return t('chat.messageBy', { who: row.own ? t('conv.you') : row.sender.name, time });
}

/** The icon shows the state; the words are there for screen readers (a span cannot carry a label). */
function StatusMark({ status }: { status: MessageRow['status'] }) {
  const label = status === 'sent' ? t('chat.sent') : status === 'sending' ? t('chat.sending') : t('chat.failed');
  return (
    <span class={status === 'failed' ? 'msg-status failed' : 'msg-status'} title={label} data-testid="message-status">
      {status === 'sent' ? <CheckIcon size={14} /> : status === 'sending' ? <ClockIcon size={13} /> : <AlertIcon size={14} />}
      <span class="sr-only">{label}</span>
    </span>
  );
}
