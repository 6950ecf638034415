import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import { canRemove, canSetRoles, type RoomInfo, type RoomRole } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import type { Member } from '../state/room-members.ts';
import { openConversation } from '../state/route.ts';
import { Avatar } from './avatar.tsx';
import { errorText } from './error-text.ts';
import { MoreIcon } from './icons.tsx';

interface Props {
  store: ChatStore;
  room: RoomInfo;
  myRole: RoomRole | undefined;
  member: Member;
  online: boolean;
  expanded: boolean;
  onToggle: () => void;
  /** An action finished (the row may be gone): what to announce. */
  onDone: (announcement: string) => void;
}

/**
 * One member: avatar with presence, name, role. Its options (send a message; for the owner,
 * make or unmake an admin; for those who may, remove from the room, after a confirmation) open
 * under it as a disclosure, so the list stays calm and every action is reachable by keyboard.
 */
export function MemberRow({ store, room, myRole, member, online, expanded, onToggle, onDone }: Props) {
  const { user, role } = member;
  const isMe = user.id === store.me.id;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const confirmButton = useRef<HTMLButtonElement>(null);
  const removeButton = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  const actionsId = `member-actions-${user.id}`;
  const mayRole = !isMe && canSetRoles(myRole) && role !== 'owner';
  const mayRemove = !isMe && canRemove(myRole, role);
  const hasActions = !isMe;

  useLayoutEffect(() => {
    // "Remove" was replaced by the question: the focus goes to its answer, not to <body>; and
    // back to "Remove from room" when Cancel takes the question away (after a removal, or with
    // the options closed, that button is gone and the panel has placed the focus).
    if (confirming) confirmButton.current?.focus();
    else if (asked.current) removeButton.current?.focus();
    asked.current = confirming;
  }, [confirming]);

  const act = async (work: () => Promise<void>, announcement: string) => {
    setBusy(true);
    setError('');
    try {
      await work();
      setConfirming(false);
      onDone(announcement);
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class={expanded ? 'member expanded' : 'member'} data-member={user.name} data-online={online ? 'yes' : 'no'}>
      <div class="member-row">
        <Avatar user={user} size="sm" online={online} />
        <span class="member-text">
          <span class="member-name">
            {user.name}
            {isMe && <span class="member-you"> {t('members.you')}</span>}
          </span>
          <span class="member-sub">
            {role !== 'member' && <span class={`role-badge role-${role}`}>{role === 'owner' ? t('members.owner') : t('members.admin')}</span>}
            <span class={online ? 'member-presence on' : 'member-presence'}>{online ? t('conv.online') : t('conv.offline')}</span>
          </span>
        </span>
        {hasActions && (
          <button
            type="button"
            class="icon-button member-more"
            aria-expanded={expanded}
            aria-controls={actionsId}
            aria-label={t('members.options', { name: user.name })}
            title={t('members.options', { name: user.name })}
            onClick={() => {
              setConfirming(false);
              setError('');
              onToggle();
            }}
          >
            <MoreIcon size={18} />
          </button>
        )}
      </div>
      {expanded && hasActions && (
        <div id={actionsId} class="member-actions" role="group" aria-label={t('members.options', { name: user.name })}>
          {confirming ? (
            <>
              <p id={`${actionsId}-question`} class="member-question">
                {t('members.removeConfirm', { name: user.name, room: room.name })}
              </p>
              <div class="member-buttons">
                <button
                  ref={confirmButton}
                  type="button"
                  class="danger-button"
                  aria-describedby={`${actionsId}-question`}
                  disabled={busy}
                  onClick={() => void act(() => store.roomApi.remove(room.id, user.id), t('members.removed', { name: user.name }))}
                >
                  {t('members.removeYes')}
                </button>
                <button type="button" class="secondary-button small" onClick={() => setConfirming(false)}>
                  {t('nav.cancel')}
                </button>
              </div>
            </>
          ) : (
            <div class="member-buttons">
              <button type="button" class="secondary-button small" onClick={() => openConversation(store.directWith(user))}>
                {t('members.message')}
              </button>
              {mayRole && (
                <button
                  type="button"
                  class="secondary-button small"
                  disabled={busy}
                  onClick={() =>
                    void act(
                      () => store.roomApi.setRole(room.id, user.id, role === 'admin' ? 'member' : 'admin'),
                      role === 'admin' ? t('members.unmadeAdmin', { name: user.name }) : t('members.madeAdmin', { name: user.name }),
                    )
                  }
                >
                  {role === 'admin' ? t('members.unmakeAdmin') : t('members.makeAdmin')}
                </button>
              )}
              {mayRemove && (
                <button ref={removeButton} type="button" class="secondary-button small danger" onClick={() => setConfirming(true)}>
                  {t('members.remove')}
                </button>
              )}
            </div>
          )}
          {error && (
            <p class="form-error compact" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
    </li>
  );
}
