import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { WORLD, type ConversationId } from '../../protocol/conversations.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { isPhone, showList, viewingConv } from '../state/route.ts';
import { Avatar, RoomAvatar, WorldAvatar } from './avatar.tsx';
import { RoomHeadActions, RoomSubtitle } from './room-head.tsx';
import { Composer } from './composer.tsx';
import { ConnectionBanner } from './connection-banner.tsx';
import { BackIcon, UploadIcon } from './icons.tsx';
import { MessageList } from './message-list.tsx';

interface Props {
  store: ChatStore;
  conv: ConversationId;
  /** Shown in place of a room that just went away (left, or removed from it), not opened by the user. */
  replacesVanished?: boolean;
}

/** The open conversation: who it is with, its messages, and the composer. */
export function ChatPane({ store, conv, replacesVanished = false }: Props) {
  const summary = store.summaries.value.get(conv);
  const isWorld = conv === WORLD;
  const peer = summary?.peer;
  const room = summary?.room;
  const isDirect = summary?.kind === 'dm';
  const title = isWorld ? t('conv.world') : (room?.name ?? peer?.name ?? '…');
  const peerOnline = peer ? store.online.value.has(peer.id) : false;
  const onlineCount = store.online.value.size;
  const viewing = viewingConv.value === conv;
  const heading = useRef<HTMLHeadingElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    void store.open(conv);
  }, [conv]);

  // Opening a conversation puts the focus somewhere on purpose. On a phone the chat is a new
  // screen: its heading, as on a new page (the composer would pop the keyboard over it). With a
  // mouse or touchpad, the composer, ready to write. Before paint, so no frame shows it lost.
  // In place of a room that went away, the heading says where you are now, and only if the focus
  // went with the room: the composer would leave words meant for the room one Enter from everyone.
  useLayoutEffect(() => {
    if (replacesVanished) {
      if (!document.activeElement || document.activeElement === document.body) heading.current?.focus();
    } else if (isPhone.value) heading.current?.focus();
    else if (matchMedia('(pointer: fine)').matches) composer.current?.focus();
  }, [conv]);

  // Reading happens when the conversation is on screen: now, on new messages, and when the tab comes back.
  const unread = summary?.unread ?? 0;
  const connected = store.connection.value === 'online';
  useEffect(() => {
    if (!viewing) return;
    const onVisible = () => document.visibilityState === 'visible' && store.markRead(conv);
    onVisible();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [conv, viewing, unread, connected]);

  const elsewhere = store.unreadTotal.value - unread;
  const TitleHeading = isPhone.value ? 'h1' : 'h2';
  // Files go to one person: only a direct conversation takes them.
  const drop = useFileDrop(isDirect ? (files) => void store.files.offerAll(conv, files) : null);

  return (
    <section class="chat-pane" aria-labelledby="chat-title" data-focus-rescue="textarea" {...drop.handlers}>
      <header class="chat-head">
        <button type="button" class="icon-button back-button" aria-label={elsewhere > 0 ? t('nav.backUnread', { n: elsewhere }) : t('nav.back')} onClick={showList}>
          <BackIcon size={22} />
          {elsewhere > 0 && (
            <span class="back-badge" aria-hidden="true">
              {elsewhere}
            </span>
          )}
        </button>
        {isWorld ? <WorldAvatar /> : room ? <RoomAvatar room={room} /> : peer ? <Avatar user={peer} online={peerOnline} /> : null}
        <div class="chat-head-text">
          {/* The page's h1 on a phone, where the chat is a screen of its own; under the sidebar's on a desktop. */}
          <TitleHeading ref={heading} id="chat-title" class="chat-title" data-testid="chat-title" tabIndex={-1}>
            {title}
          </TitleHeading>
          {room ? (
            <RoomSubtitle room={room} />
          ) : (
            <p class={!isWorld && peerOnline ? 'chat-subtitle online' : 'chat-subtitle'}>
              {isWorld ? t('conv.worldSubtitle', { n: onlineCount }) : peerOnline ? t('conv.online') : t('conv.offline')}
            </p>
          )}
        </div>
        {room && <RoomHeadActions summary={summary!} />}
      </header>
      <ConnectionBanner store={store} />
      <MessageList store={store} conv={conv} title={title} />
      {drop.over && (
        <div class="drop-zone" aria-hidden="true">
          <div class="drop-card">
            <span class="drop-icon">
              <UploadIcon size={28} />
            </span>
            <p class="drop-title">{t('file.dropTitle', { name: title })}</p>
            <p class="drop-hint">{t('file.dropHint', { name: title })}</p>
          </div>
        </div>
      )}
      <Composer
        store={store}
        conv={conv}
        inputRef={composer}
        canAttach={isDirect}
        placeholder={isWorld ? t('composer.placeholderWorld') : room ? t('composer.placeholderRoom', { name: room.name }) : t('composer.placeholderDm', { name: peer?.name ?? '' })}
      />
    </section>
  );
}

/** Files dragged over the pane (a direct conversation only): an overlay while over, an offer on drop. */
function useFileDrop(onFiles: ((files: File[]) => void) | null) {
  const [over, setOver] = useState(false);
  // dragenter and dragleave fire for every child crossed; count them to know when the pointer left.
  const depth = useRef(0);
  const carriesFiles = (event: DragEvent) => !!event.dataTransfer?.types.includes('Files');
  const handlers = {
    onDragEnter: (event: DragEvent) => {
      if (!onFiles || !carriesFiles(event)) return;
      event.preventDefault();
      depth.current += 1;
      setOver(true);
    },
    onDragOver: (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      // Not in the world chat (files go to one person): the pointer says so, and Shell stops the drop.
      event.dataTransfer!.dropEffect = onFiles ? 'copy' : 'none';
    },
    onDragLeave: (event: DragEvent) => {
      if (!onFiles || !carriesFiles(event)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setOver(false);
    },
    onDrop: (event: DragEvent) => {
      if (!onFiles || !carriesFiles(event)) return;
      event.preventDefault();
      depth.current = 0;
      setOver(false);
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length > 0) onFiles!(files);
    },
  };
  return { over, handlers };
}
