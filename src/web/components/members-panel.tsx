import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConversationId } from '../../protocol/conversations.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { RoomMembers, type Member } from '../state/room-members.ts';
import { MEMBERS_TOGGLE_ID, membersPanelFocus, membersPanelOpen, roomDialog } from '../state/room-ui.ts';
import { CloseIcon, UserPlusIcon } from './icons.tsx';
import { LeaveRoom } from './leave-room.tsx';
import { MemberRow } from './member-row.tsx';

/**
 * Who is in the room, online first, with their role; invite people; and, for the owner and
 * admins, what they may do to each member. Beside the chat on a wide screen, over it on a phone.
 * It takes the focus when its button opens it (not when it stays open from room to room); Escape
 * or its close button gives the focus back to the header's Members button.
 */
export function MembersPanel({ store, conv }: { store: ChatStore; conv: ConversationId }) {
  const state = useMemo(() => new RoomMembers(store, conv), [store, conv]);
  useEffect(() => () => state.close(), [state]);
  const heading = useRef<HTMLHeadingElement>(null);
  const [expanded, setExpanded] = useState<number | null>(null);
  const [said, setSaid] = useState('');
  const summary = store.summaries.value.get(conv);
  const room = summary?.room;

  useLayoutEffect(() => {
    if (!membersPanelFocus.wanted) return;
    membersPanelFocus.wanted = false;
    heading.current?.focus();
  }, []);

  const close = () => {
    membersPanelOpen.value = false;
    // The panel is gone after this render; its toggle in the header takes the focus back.
    requestAnimationFrame(() => document.getElementById(MEMBERS_TOGGLE_ID)?.focus());
  };

  if (!room || !summary) return null;
  const online = store.online.value;
  const byName = (a: Member, b: Member) => a.user.name.localeCompare(b.user.name);
  const all = [...state.members.value.values()];
  const here = all.filter((member) => online.has(member.user.id)).sort(byName);
  const away = all.filter((member) => !online.has(member.user.id)).sort(byName);

  const group = (title: string, members: Member[], online: boolean) =>
    members.length > 0 && (
      <div class="member-group">
        <h3 class="member-group-title">{title}</h3>
        <ul class="member-list" role="list">
          {members.map((member) => (
            <MemberRow
              key={member.user.id}
              store={store}
              room={room}
              myRole={summary.role}
              member={member}
              online={online}
              expanded={expanded === member.user.id}
              onToggle={() => setExpanded((at) => (at === member.user.id ? null : member.user.id))}
              onDone={(message) => {
                setSaid(message);
                setExpanded(null);
                heading.current?.focus();
              }}
            />
          ))}
        </ul>
      </div>
    );

  return (
    <aside
      id="members-panel"
      class="members-panel"
      aria-labelledby="members-title"
      data-testid="members-panel"
      // A button that goes away with its state (Try again, Show more) leaves the focus on the heading.
      data-focus-rescue="#members-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
          event.preventDefault();
          close();
        }
      }}
    >
      <header class="panel-head">
        <h2 id="members-title" ref={heading} class="panel-title" tabIndex={-1}>
          {t('members.title')}
          <span class="section-count">{room.memberCount}</span>
        </h2>
        <button type="button" class="icon-button" aria-label={t('members.close')} title={t('members.close')} onClick={close}>
          <CloseIcon size={19} />
        </button>
      </header>
      <div class="panel-scroll">
        <button type="button" class="panel-action" onClick={() => (roomDialog.value = 'invite')}>
          <span class="panel-action-icon" aria-hidden="true">
            <UserPlusIcon size={18} />
          </span>
          {t('members.invite')}
        </button>
        {group(t('members.online', { n: here.length }), here, true)}
        {group(t('members.offline', { n: away.length }), away, false)}
        {state.status.value === 'loading' && all.length === 0 && (
          <p class="list-state">
            <span class="spinner small" aria-hidden="true" /> {t('members.loading')}
          </p>
        )}
        {state.status.value === 'error' && (
          <p class="list-state" role="alert">
            {t('members.loadFailed')}{' '}
            <button type="button" class="text-button" onClick={() => void state.load()}>
              {t('chat.retryLoad')}
            </button>
          </p>
        )}
        {state.next.value && state.status.value === 'done' && (
          <button type="button" class="text-button list-more" onClick={() => void state.load(state.next.value)}>
            {t('list.more')}
          </button>
        )}
      </div>
      <footer class="panel-foot">
        <LeaveRoom store={store} room={room} />
      </footer>
      <p class="sr-only" role="status">
        {said}
      </p>
    </aside>
  );
}
