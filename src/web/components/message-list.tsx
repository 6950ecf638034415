import { useMemo, useRef, useState } from 'preact/hooks';
import { WORLD, type ConversationId } from '../../protocol/conversations.ts';
import { locale, t } from '../i18n/i18n.ts';
import { buildRows, type Row } from '../lib/rows.ts';
import { dayLabel } from '../lib/time.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { Avatar, RoomAvatar } from './avatar.tsx';
import { FileMessage } from './file-card.tsx';
import { ArrowDownIcon, GlobeIcon } from './icons.tsx';
import { MessageView } from './message-row.tsx';
import { SystemLine } from './system-row.tsx';
import { VirtualList, type VirtualListController } from './virtual-list.tsx';

/** The messages of one conversation: windowed, paged backwards on scroll, following new ones. */
export function MessageList({ store, conv, title }: { store: ChatStore; conv: ConversationId; title: string }) {
  const timeline = store.timeline(conv);
  const messages = timeline.messages.value;
  const echoes = timeline.echoes.value;
  const direct = store.summaries.value.get(conv)?.kind === 'dm';
  const rows = useMemo(() => buildRows(messages, echoes, store.me, { direct }), [messages, echoes, store.me, direct]);
  const [atBottom, setAtBottom] = useState(true);
  const controller = useRef<VirtualListController>(null);
  const loading = timeline.load.value;

  const renderRow = (row: Row) => {
    if (row.kind === 'message' && row.file) return <FileMessage store={store} row={row} file={row.file} />;
    if (row.kind === 'system') return <SystemLine row={row} me={store.me} />;
    if (row.kind === 'message') {
      return <MessageView row={row} onRetry={(id) => store.retry(conv, id)} onDiscard={(id) => store.discard(conv, id)} />;
    }
    if (row.kind === 'day') {
      const label = dayLabel(row.ts, locale.value);
      // A heading, so a screen reader can jump from day to day.
      return (
        <h3 class="day-separator">
          <span>{label.kind === 'today' ? t('chat.today') : label.kind === 'yesterday' ? t('chat.yesterday') : label.text}</span>
        </h3>
      );
    }
    return <TopRow store={store} conv={conv} title={title} />;
  };

  return (
    <div class="message-area">
      {loading === 'error' && messages.length === 0 ? (
        <div class="load-error" role="alert">
          <p>{t('chat.loadFailed')}</p>
          <button type="button" class="secondary-button" onClick={() => void store.open(conv)}>
            {t('chat.retryLoad')}
          </button>
        </div>
      ) : !timeline.loaded && loading !== 'error' ? (
        // Not a row of the list: the first page replaces it whole, so nothing on screen moves
        // when it lands (a row would be pushed up by the messages arriving under it).
        <div class="history-loading first-page" role="status">
          <span class="spinner" aria-hidden="true" />
          {t('chat.loading')}
        </div>
      ) : (
        <VirtualList
          key={conv}
          items={rows}
          estimate={estimateRow}
          render={renderRow}
          canAnchor={(row) => row.kind === 'message'}
          onNearTop={() => void store.loadOlder(conv)}
          onAtBottomChange={setAtBottom}
          controller={controller}
          label={t('chat.messages', { name: title })}
          class="messages"
        />
      )}
      {!atBottom && (
        <button
          type="button"
          class="jump-latest"
          aria-label={t('chat.jumpToLatest')}
          title={t('chat.jumpToLatest')}
          onClick={() => {
            controller.current?.scrollToBottom();
            // The button goes away at the bottom; the list keeps the focus, so the keys scroll on.
            controller.current?.focus();
          }}
        >
          <ArrowDownIcon size={20} />
        </button>
      )}
    </div>
  );
}

function TopRow({ store, conv, title }: { store: ChatStore; conv: ConversationId; title: string }) {
  const timeline = store.timeline(conv);
  if (timeline.load.value === 'loading' || timeline.loadingOlder.value || (!timeline.loaded && timeline.hasMore.value)) {
    return (
      <div class="history-loading" role="status">
        <span class="spinner" aria-hidden="true" />
        {t('chat.loadingOlder')}
      </div>
    );
  }
  if (timeline.hasMore.value) return <div class="history-more" />;
  const summary = store.summaries.value.get(conv);
  const peer = summary?.peer;
  if (summary?.room) {
    return (
      <div class="history-start">
        <RoomAvatar room={summary.room} size="lg" />
        <p>{t('chat.beginningRoom', { name: summary.room.name })}</p>
      </div>
    );
  }
  return (
    <div class="history-start">
      {peer ? (
        <Avatar user={peer} size="lg" />
      ) : (
        <span class="history-start-icon" aria-hidden="true">
          <GlobeIcon size={22} />
        </span>
      )}
      <p>{conv === WORLD ? t('chat.beginningWorld') : t('chat.beginningDm', { name: title })}</p>
    </div>
  );
}

function estimateRow(row: Row): number {
  if (row.kind === 'top') return 64;
  if (row.kind === 'day') return 44;
  if (row.kind === 'system') return 34;
  if (row.file) return (row.named ? 30 : 8) + 150;
  const lines = row.text.split('\n').reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / 48)), 0);
  return (row.named ? 30 : 8) + 16 + 21 * lines + (row.status === 'failed' ? 30 : 0);
}
