import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { WORLD } from '../../protocol/conversations.ts';
import type { ConversationSummary } from '../../protocol/frames.ts';
import { locale, t } from '../i18n/i18n.ts';
import { shortStamp } from '../lib/time.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { activeConv, hrefOf, isPhone, openConversation, routeConv } from '../state/route.ts';
import { Avatar, WorldAvatar } from './avatar.tsx';
import { displayName } from './file-card.tsx';
import { Logo, PenIcon } from './icons.tsx';
import { NewChatDialog } from './new-chat.tsx';
import { OnlineList } from './online-list.tsx';
import { UserBar } from './user-bar.tsx';

/** Conversations (world chat first), the online list, and the signed-in user's controls. */
export function Sidebar({ store }: { store: ChatStore }) {
  const [composing, setComposing] = useState(false);
  const newChat = useRef<HTMLButtonElement>(null);
  const backToNewChat = useRef(false);
  // A dialog closed without opening anything gives the focus back to the button that opened it
  // (once it is gone: the page outside a modal dialog cannot take focus).
  useLayoutEffect(() => {
    if (composing || !backToNewChat.current) return;
    backToNewChat.current = false;
    newChat.current?.focus();
  }, [composing]);
  return (
    <aside class="sidebar" aria-label={t('nav.chats')}>
      <header class="sidebar-head">
        <Logo size={30} />
        <h1 class="sidebar-title">{t('app.name')}</h1>
        <button ref={newChat} type="button" class="icon-button" aria-label={t('nav.newChat')} title={t('nav.newChat')} onClick={() => setComposing(true)}>
          <PenIcon size={19} />
        </button>
      </header>
      {/* Filled once the server has said what there is, all at once: a list growing in steps would push the rest down. */}
      <div class="sidebar-scroll">
        {store.ready.value && (
          <>
            <nav aria-label={t('nav.conversations')} data-focus-rescue=".conv-item">
              <ul class="conv-list" role="list">
                {store.ordered.value.map((summary) => (
                  <ConversationItem key={summary.id} store={store} summary={summary} />
                ))}
              </ul>
            </nav>
            <OnlineList store={store} />
          </>
        )}
      </div>
      <UserBar store={store} />
      {composing && (
        <NewChatDialog
          store={store}
          onClose={(opened) => {
            backToNewChat.current = !opened;
            setComposing(false);
          }}
        />
      )}
    </aside>
  );
}

function ConversationItem({ store, summary }: { store: ChatStore; summary: ConversationSummary }) {
  const isWorld = summary.id === WORLD;
  const name = isWorld ? t('conv.world') : (summary.peer?.name ?? '…');
  // On a phone the list is its own screen, so nothing in it is "current".
  const active = activeConv.value === summary.id && !(isPhone.value && routeConv.value === null);
  const last = summary.last;
  const text = last?.file ? t('conv.filePreview', { name: displayName(last.file.name) }) : (last?.text ?? '');
  const preview = !last
    ? t('conv.noMessages')
    : last.sender.id === store.me.id
      ? t('conv.preview', { name: t('conv.you'), text })
      : isWorld
        ? t('conv.preview', { name: last.sender.name, text })
        : text;
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
        {isWorld ? <WorldAvatar /> : summary.peer ? <Avatar user={summary.peer} online={online} /> : <span class="avatar avatar-md" />}
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name">{name}</span>
            {/* The green dot on the avatar, in words. */}
            {online && <span class="sr-only">{t('conv.onlineSuffix')}</span>}
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
