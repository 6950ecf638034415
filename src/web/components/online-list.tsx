import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { openConversation } from '../state/route.ts';
import { Avatar } from './avatar.tsx';

/** Who is online now (live), except yourself; clicking someone opens your conversation with them. */
export function OnlineList({ store }: { store: ChatStore }) {
  const others = [...store.online.value.values()]
    .filter((user) => user.id !== store.me.id)
    .sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section class="online" aria-labelledby="online-heading" data-focus-rescue=".user-item">
      <h2 id="online-heading" class="section-heading">
        <span>{t('nav.online')}</span>
        <span class="section-count">{others.length}</span>
      </h2>
      {others.length === 0 ? (
        <p class="online-empty">{t('nav.nobodyOnline')}</p>
      ) : (
        <ul class="online-list" role="list" aria-label={t('nav.onlineUsers')}>
          {others.map((user) => (
            <li key={user.id}>
              {/* Named by the name it shows (a label would hide it from speech input); what it does is its description. */}
              <button
                type="button"
                class="user-item"
                data-user={user.name}
                title={t('conv.directWith', { name: user.name })}
                onClick={() => openConversation(store.directWith(user))}
              >
                <Avatar user={user} size="sm" online />
                <span class="user-name">{user.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
