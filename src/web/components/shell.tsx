import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { effect } from '@preact/signals';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { WORLD, isRoomId, type ConversationId } from '../../protocol/conversations.ts';
import { membersPanelOpen, roomDialog } from '../state/room-ui.ts';
import { InvitePeopleDialog } from './invite-people.tsx';
import { MembersPanel } from './members-panel.tsx';
import { RemovalNotice } from './removal-notice.tsx';
import { RoomSettingsDialog } from './room-settings.tsx';
import { activeConv, isPhone, routeConv } from '../state/route.ts';
import { Announcer } from './announcer.tsx';
import { ChatPane } from './chat-pane.tsx';
import { Sidebar } from './sidebar.tsx';

/** Sidebar and conversation side by side; on a phone, one screen at a time. */
export function Shell({ store }: { store: ChatStore }) {
  // The tab title carries the unread total.
  useEffect(
    () =>
      effect(() => {
        const n = store.unreadTotal.value;
        document.title = n > 0 ? t('title.unread', { n }) : t('title.base');
      }),
    [store],
  );
  // A file dropped where nothing takes it would make the browser leave the app to show it.
  useEffect(() => {
    const swallow = (event: DragEvent) => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
    };
    addEventListener('dragover', swallow);
    addEventListener('drop', swallow);
    return () => {
      removeEventListener('dragover', swallow);
      removeEventListener('drop', swallow);
    };
  }, []);
  useEffect(() => {
    const retry = () => store.session.retryNow();
    addEventListener('online', retry);
    return () => removeEventListener('online', retry);
  }, [store]);

  const view = isPhone.value && routeConv.value === null ? 'list' : 'chat';
  // An address for a conversation this user does not have (an old link, another account's DM)
  // shows the world chat instead, once the server has said which conversations exist.
  const wanted = activeConv.value;
  const missing = store.ready.value && !store.summaries.value.has(wanted);
  const conv = missing ? WORLD : wanted;
  const vanished = missing && isRoomId(wanted);

  // Back on a phone's list from a conversation: focus the conversation you came from, not <body>.
  const cameFrom = useRef<ConversationId | null>(null);
  useLayoutEffect(() => {
    if (view === 'chat') {
      cameFrom.current = conv;
      return;
    }
    const left = cameFrom.current;
    cameFrom.current = null;
    if (left) document.querySelector<HTMLElement>(`a.conv-item[data-conv="${CSS.escape(left)}"]`)?.focus();
  }, [view, conv]);
  // A room you left or were removed from leaves its address too (on a phone: back to the list).
  useEffect(() => {
    if (vanished) location.replace('#/');
  }, [vanished, wanted]);
  // A room dialog belongs to the room it was opened in.
  useEffect(() => {
    roomDialog.value = null;
  }, [conv]);
  const room = store.summaries.value.get(conv)?.room;
  const panel = view === 'chat' && room !== undefined && membersPanelOpen.value;
  const dialog = roomDialog.value;
  const closeDialog = () => (roomDialog.value = null);
  return (
    <div class="shell" data-view={view} data-connection={store.connection.value} data-panel={panel ? 'members' : undefined}>
      <Sidebar store={store} />
      <main class="main">
        {view === 'chat' && <ChatPane key={conv} store={store} conv={conv} replacesVanished={vanished} />}
        {panel && <MembersPanel key={conv} store={store} conv={conv} />}
      </main>
      {room && dialog === 'settings' && <RoomSettingsDialog store={store} room={room} onClose={closeDialog} />}
      {room && dialog === 'invite' && <InvitePeopleDialog store={store} room={room} onClose={closeDialog} />}
      <RemovalNotice store={store} />
      <Announcer store={store} />
    </div>
  );
}
