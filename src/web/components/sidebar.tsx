import { useState } from 'preact/hooks';
import { WORLD } from '../../protocol/conversations.ts';
import type { ConversationSummary } from '../../protocol/frames.ts';
import { locale, t } from '../i18n/i18n.ts';
import { shortStamp } from '../lib/time.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { activeConv, hrefOf, isPhone, openConversation, routeConv } from '../state/route.ts';
import { Avatar, RoomAvatar, WorldAvatar } from './avatar.tsx';
import { displayName } from './file-card.tsx';
import { CompassIcon, Logo, PenIcon, PlusIcon } from './icons.tsx';
import { NewChatDialog } from './new-chat.tsx';
import { NewRoomDialog } from './new-room.tsx';
import { OnlineList } from './online-list.tsx';
import { RoomDirectoryDialog } from './room-directory.tsx';
import { systemLine } from '../lib/room-words.ts';
import { UserBar } from './user-bar.tsx';

type SidebarDialog = 'chat' | 'room' | 'directory' | null;

/** The world chat, your rooms, your direct conversations, who is online, and the signed-in user's controls. */
export function Sidebar({ store }: { store: ChatStore }) {
  const [dialog, setDialog] = useState<SidebarDialog>(null);
  const close = () => setDialog(null);
  const world = store.summaries.value.get(WORLD);
  const rooms = store.rooms.value;
  const directs = store.directs.value;
  return (
    <aside class="sidebar" aria-label={t('nav.chats')}>
      <header class="sidebar-head">
        <Logo size={30} />
        <h1 class="sidebar-title">{t('app.name')}</h1>
        <button type="button" class="icon-button" aria-label={t('nav.newChat')} title={t('nav.newChat')} onClick={() => setDialog('chat')}>
          <PenIcon size={19} />
        </button>
      </header>
      {/* Filled once the server has said what there is, all at once: a list growing in steps would push the rest down. */}
      <div class="sidebar-scroll">
        {store.ready.value && (
          <>
            <nav aria-label={t('nav.conversations')} data-focus-rescue=".conv-item">
              <ul class="conv-list" role="list">
                {world && <ConversationItem store={store} summary={world} />}
              </ul>
              <div class="section-heading with-actions">
                <h2 id="rooms-heading" class="section-heading-text">
                  {t('rooms.heading')}
                </h2>
                <button type="button" class="icon-button small" aria-label={t('rooms.browse')} title={t('rooms.browse')} data-testid="browse-rooms" onClick={() => setDialog('directory')}>
                  <CompassIcon size={17} />
                </button>
                <button type="button" class="icon-button small" aria-label={t('rooms.new')} title={t('rooms.new')} data-testid="new-room" onClick={() => setDialog('room')}>
                  <PlusIcon size={18} />
                </button>
              </div>
              {rooms.length === 0 ? (
                <p class="sidebar-empty">
                  {t('rooms.none')}{' '}
                  <button type="button" class="text-button inline" onClick={() => setDialog('directory')}>
                    {t('rooms.noneBrowse')}
                  </button>
                </p>
              ) : (
                <ul class="conv-list" role="list" aria-labelledby="rooms-heading">
                  {rooms.map((summary) => (
                    <ConversationItem key={summary.id} store={store} summary={summary} />
                  ))}
                </ul>
              )}
              {directs.length > 0 && (
                <>
                  <h2 id="directs-heading" class="section-heading">
                    {t('nav.directs')}
                  </h2>
                  <ul class="conv-list" role="list" aria-labelledby="directs-heading">
                    {directs.map((summary) => (
                      <ConversationItem key={summary.id} store={store} summary={summary} />
                    ))}
                  </ul>
                </>
              )}
            </nav>
            <OnlineList store={store} />
          </>
        )}
      </div>
      <UserBar store={store} />
      {/* Each dialog gives the focus back to the button that opened it when it closes (Modal). */}
      {dialog === 'chat' && <NewChatDialog store={store} onClose={close} />}
      {dialog === 'room' && <NewRoomDialog store={store} onClose={close} />}
      {dialog === 'directory' && <RoomDirectoryDialog store={store} onClose={close} onCreate={() => setDialog('room')} />}
    </aside>
  );
}

function ConversationItem({ store, summary }: { store: ChatStore; summary: ConversationSummary }) {
  const isWorld = summary.id === WORLD;
  const name = isWorld ? t('conv.world') : (summary.room?.name ?? summary.peer?.name ?? '…');
  // On a phone the list is its own screen, so nothing in it is "current".
  const active = activeConv.value === summary.id && !(isPhone.value && routeConv.value === null);
  const last = summary.last;
  const text = last?.system ? systemLine(last, store.me) : last?.file ? t('conv.filePreview', { name: displayName(last.file.name) }) : (last?.text ?? '');
  const preview = !last
    ? t('conv.noMessages')
    : last.system
      ? text
      : last.sender.id === store.me.id
        ? t('conv.preview', { name: t('conv.you'), text })
        : summary.kind === 'dm'
          ? text
          : t('conv.preview', { name: last.sender.name, text });
  const online = summary.peer ? store.online.value.has(summary.peer.id) : undefined;
  return (
    <li>
      <a
        href={hrefOf(summary.id)}
        class={active ? 'conv-item active' : 'conv-item'}
        aria-current={active ? 'page' : undefined}
        data-conv={summary.id}
        onClick={(event) => {
          // Keep the browser's own handling for new-tab clicks; otherwise navigate in place.
          if (event.metaKey || event.ctrlKey || event.shiftKey) return;
          event.preventDefault();
          openConversation(summary.id);
        }}
      >
        {isWorld ? (
          <WorldAvatar />
        ) : summary.kind === 'room' ? (
          <RoomAvatar room={summary.room} />
        ) : summary.peer ? (
          <Avatar user={summary.peer} online={online} />
        ) : (
          <span class="avatar avatar-md" />
        )}
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name">{name}</span>
            {/* The green dot on the avatar, and the lock, in words. */}
            {online && <span class="sr-only">{t('conv.onlineSuffix')}</span>}
            {summary.room?.visibility === 'private' && <span class="sr-only">{t('rooms.privateSuffix')}</span>}
            {last && <time class="conv-time">{shortStamp(last.ts, locale.value)}</time>}
          </span>
          <span class="conv-bottom">
            <span class={last ? 'conv-preview' : 'conv-preview empty'}>{preview.replace(/\s+/g, ' ').slice(0, 140)}</span>
            {summary.unread > 0 && (
              <>
                <span class="badge" data-testid="unread-badge" aria-hidden="true">
                  {summary.unread > 999 ? '999+' : summary.unread}
                </span>
                {/* A span cannot carry a label: the words are for screen readers, the number for the eye. */}
                <span class="sr-only">{t('conv.unread', { n: summary.unread })}</span>
              </>
            )}
          </span>
        </span>
      </a>
    </li>
  );
}
