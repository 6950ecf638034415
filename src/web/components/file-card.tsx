import { useRef, useState } from 'preact/hooks';
import { DECEPTIVE_IN_NAMES } from '../../protocol/file-names.ts';
import type { FileCard } from '../../protocol/files.ts';
import { ParleyClientError } from '../../client/errors.ts';
import { locale, t } from '../i18n/i18n.ts';
import { extensionOf, humanBytes, kindOf } from '../lib/format.ts';
import { fileView, type FileAction, type FileTone } from '../lib/file-view.ts';
import type { MessageRow } from '../lib/rows.ts';
import { clockTime, fullTime } from '../lib/time.ts';
import { avatarColor } from '../lib/avatar.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { Avatar } from './avatar.tsx';
import { errorText } from './error-text.ts';
import { AlertIcon, BlockIcon, CheckIcon, ClockIcon, DownloadIcon, RetryIcon } from './icons.tsx';

/**
 * Bidirectional overrides could make "gpj.exe" read as "exe.jpg", and control characters have no
 * glyph: on screen they become U+FFFD. The name is still only ever text (never markup), and the
 * saved file gets the safe version of the real name (safeFileName: the same characters as `_`).
 */
export function displayName(name: string): string {
  return name.replace(DECEPTIVE_IN_NAMES, '\uFFFD');
}

/** A file offer in the message list: the sender's on the right, the other person's on the left. */
export function FileMessage({ store, row, file }: { store: ChatStore; row: MessageRow; file: FileCard }) {
  const card = store.files.card(file);
  const classes = ['msg', 'file-msg', row.own ? 'own' : 'other', row.first ? 'first' : '', row.last ? 'last' : ''].filter(Boolean).join(' ');
  return (
    <div class={classes} data-testid="file-message">
      {!row.own && <div class="msg-avatar">{row.first && <Avatar user={row.sender} size="sm" />}</div>}
      <div class="msg-body">
        <FileCardView store={store} card={card} ts={row.ts} who={row.own ? t('conv.you') : row.sender.name} sender={row.named ? row.sender : undefined} />
      </div>
    </div>
  );
}

interface CardProps {
  store: ChatStore;
  card: FileCard;
  ts: number;
  /** Who offered it, as a screen reader hears it ("You" for your own). */
  who: string;
  /** The sender's name is shown on the first message of a run only. */
  sender: MessageRow['sender'] | undefined;
}

function FileCardView({ store, card, ts, who, sender }: CardProps) {
  const files = store.files;
  const self = useRef<HTMLElement>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const view = fileView({
    card,
    myId: store.me.id,
    local: files.local.value.get(card.id),
    server: files.serverProgress.value.get(card.id),
    picked: files.hasPicked(card.id),
    locale: locale.value,
  });
  const name = displayName(card.name);
  const size = humanBytes(card.size, locale.value);
  const extension = extensionOf(card.name);

  const run = (work: () => Promise<void>) => {
    // The buttons change with the card's state (Accept goes away once accepted): the card itself
    // keeps the focus, and its status line says what happened.
    self.current?.focus();
    setBusy(true);
    setProblem(null);
    work()
      .catch((error: unknown) => setProblem(error instanceof ParleyClientError ? error.code : 'NETWORK'))
      .finally(() => setBusy(false));
  };
  const act = (action: FileAction) => {
    switch (action) {
      case 'accept':
        return run(() => files.accept(card.id));
      case 'decline':
        return run(() => files.decline(card.id));
      case 'cancel':
        return run(() => files.cancel(card.id));
      case 'download':
      case 'save':
      case 'retryDownload':
      case 'resumeDownload':
        return void files.download(card);
      case 'retryUpload':
        return void files.resumeUpload(card);
      case 'pickAgain':
        return picker.current?.click();
    }
  };

  return (
    <article
      ref={self}
      class={`file-card tone-${view.tone}${view.mine ? ' mine' : ''}`}
      data-testid="file-card"
      data-state={card.state}
      data-file={card.id}
      aria-label={t('file.cardBy', { who, time: clockTime(ts, locale.value), name, size })}
      tabIndex={-1}
      data-focus-rescue=""
    >
      {sender && (
        <div class="msg-sender" style={{ '--sender': avatarColor(sender.id) }} aria-hidden="true">
          {sender.name}
        </div>
      )}
      <div class="file-head">
        <FileIcon kind={kindOf(card.name, card.type)} extension={extension} />
        <div class="file-meta">
          <div class="file-name" data-testid="file-name" title={name}>
            {name}
          </div>
          {/* The extension is on the icon already. */}
          <div class="file-sub">
            <span data-testid="file-size">{size}</span>
          </div>
        </div>
      </div>

      {view.progress && (
        <div class="file-progress">
          <div
            class="file-bar"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={view.progress.percent}
            aria-valuetext={`${t('file.progress', { percent: view.progress.percent })} ${view.progress.rate}`.trim()}
            aria-label={t('file.progressLabel', { name })}
            data-testid="file-progress"
          >
            <span class="file-bar-fill" style={{ width: `${view.progress.percent}%` }} />
          </div>
          <div class="file-progress-text">
            <span class="file-percent">{t('file.progress', { percent: view.progress.percent })}</span>
            {view.progress.rate && <span class="file-rate">{view.progress.rate}</span>}
          </div>
        </div>
      )}

      <p class="file-status" data-testid="file-status" aria-live="polite">
        <StatusIcon tone={view.tone} />
        <span>{view.status}</span>
      </p>
      {view.detail && (
        <p class="file-detail" data-testid="file-detail">
          {view.detail}
        </p>
      )}
      {problem && (
        <p class="file-problem" role="alert">
          {t(errorText(problem), { s: 1 })}
        </p>
      )}

      <div class="file-foot">
        {view.actions.length > 0 && (
          <div class="file-actions">
            {view.actions.map((action) => (
              <ActionButton key={action} action={action} busy={busy} onClick={() => act(action)} />
            ))}
          </div>
        )}
        <time class="file-time" dateTime={new Date(ts).toISOString()} title={fullTime(ts, locale.value)} aria-hidden="true">
          {clockTime(ts, locale.value)}
        </time>
      </div>
      {view.actions.includes('pickAgain') && (
        <input
          ref={picker}
          type="file"
          class="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-repick"
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            event.currentTarget.value = '';
            if (file) void files.resumeUpload(card, file);
          }}
        />
      )}
    </article>
  );
}

const LABELS: Record<FileAction, 'file.accept' | 'file.decline' | 'file.cancel' | 'file.download' | 'file.save' | 'file.retry' | 'file.pickAgain' | 'file.resume'> = {
  accept: 'file.accept',
  decline: 'file.decline',
  cancel: 'file.cancel',
  download: 'file.download',
  save: 'file.save',
  retryUpload: 'file.retry',
  retryDownload: 'file.retry',
  pickAgain: 'file.pickAgain',
  resumeDownload: 'file.resume',
};

function ActionButton({ action, busy, onClick }: { action: FileAction; busy: boolean; onClick: () => void }) {
  const primary =
    action === 'accept' || action === 'download' || action === 'pickAgain' || action === 'retryUpload' || action === 'retryDownload' || action === 'resumeDownload';
  const quiet = action === 'cancel';
  return (
    <button
      type="button"
      class={primary ? 'file-button primary' : quiet ? 'file-button quiet' : 'file-button'}
      data-action={action}
      disabled={busy && (action === 'accept' || action === 'decline' || action === 'cancel')}
      onClick={onClick}
    >
      {(action === 'download' || action === 'save' || action === 'resumeDownload') && <DownloadIcon size={16} />}
      {(action === 'retryUpload' || action === 'retryDownload') && <RetryIcon size={15} />}
      {action === 'accept' && <CheckIcon size={16} />}
      {t(LABELS[action])}
    </button>
  );
}

function StatusIcon({ tone }: { tone: FileTone }) {
  if (tone === 'success') return <CheckIcon size={15} />;
  if (tone === 'danger') return <AlertIcon size={15} />;
  if (tone === 'muted') return <BlockIcon size={15} />;
  if (tone === 'active') return <span class="file-pulse" aria-hidden="true" />;
  return <ClockIcon size={15} />;
}

/** A document with a folded corner, coloured by kind, with the extension on it. */
export function FileIcon({ kind, extension }: { kind: string; extension: string }) {
  return (
    <span class={`file-icon kind-${kind}`} aria-hidden="true">
      <svg viewBox="0 0 40 48" width="40" height="48" focusable="false">
        <path d="M6 0h21l13 13v29a6 6 0 0 1-6 6H6a6 6 0 0 1-6-6V6a6 6 0 0 1 6-6Z" fill="currentColor" />
        <path d="M27 0v8a5 5 0 0 0 5 5h8Z" fill="#fff" fill-opacity=".38" />
      </svg>
      <span class={extension.length > 3 ? 'file-ext long' : 'file-ext'}>{extension || '•••'}</span>
    </span>
  );
}
