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

/** One message as a bubble: others on the left with avatar and name at the start of a run, yours on the right. */
export function MessageView({ row, onRetry, onDiscard }: Props) {
  const classes = ['msg', row.own ? 'own' : 'other', row.first ? 'first' : '', row.last ? 'last' : '', row.status].filter(Boolean).join(' ');
  const time = clockTime(row.ts, locale.value);
  return (
    <div class={classes} data-testid="message" data-status={row.status}>
      {!row.own && <div class="msg-avatar">{row.first && <Avatar user={row.sender} size="sm" />}</div>}
      <div class="msg-body">
        <div class="bubble">
          {!row.own && row.first ? (
            <div class="msg-sender" style={{ color: avatarColor(row.sender.id) }} data-testid="sender">
              {row.sender.name}
            </div>
          ) : (
            <span class="sr-only">{row.own ? t('conv.you') : row.sender.name}: </span>
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
            <time dateTime={new Date(row.ts).toISOString()} title={fullTime(row.ts, locale.value)}>
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
    </div>
  );
}

function StatusMark({ status }: { status: MessageRow['status'] }) {
  if (status === 'sent')
    return (
      <span class="msg-status" title={t('chat.sent')} aria-label={t('chat.sent')}>
        <CheckIcon size={14} />
      </span>
    );
  if (status === 'sending')
    return (
      <span class="msg-status" title={t('chat.sending')} aria-label={t('chat.sending')}>
        <ClockIcon size={13} />
      </span>
    );
  return (
    <span class="msg-status failed" title={t('chat.failed')} aria-label={t('chat.failed')}>
      <AlertIcon size={14} />
    </span>
  );
}

