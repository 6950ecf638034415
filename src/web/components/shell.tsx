import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { effect } from '@preact/signals';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { WORLD, type ConversationId } from '../../protocol/conversations.ts';
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
  const conv = store.ready.value && !store.summaries.value.has(wanted) ? WORLD : wanted;

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
  return (
    <div class="shell" data-view={view} data-connection={store.connection.value}>
      <Sidebar store={store} />
      <main class="main">
        {view === 'chat' && <ChatPane key={conv} store={store} conv={conv} />}
      </main>
      <Announcer store={store} />
    </div>
  );
}
