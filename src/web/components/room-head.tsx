import type { ConversationSummary } from '../../protocol/frames.ts';
import { canManageRoom, type RoomInfo } from '../../protocol/rooms.ts';
import { t } from '../i18n/i18n.ts';
import { MEMBERS_TOGGLE_ID, membersPanelFocus, membersPanelOpen, roomDialog } from '../state/room-ui.ts';
import { SettingsIcon, UsersIcon } from './icons.tsx';
import { memberCount } from '../lib/room-words.ts';

/** Under a room's name: private or public, how many are in it, and its topic. */
export function RoomSubtitle({ room }: { room: RoomInfo }) {
  return (
    <p class="chat-subtitle room-subtitle" data-testid="room-subtitle">
      <span>{room.visibility === 'private' ? t('rooms.private') : t('rooms.public')}</span>
      <span aria-hidden="true"> · </span>
      <span>{memberCount(room.memberCount)}</span>
      {room.topic && (
        <>
          <span aria-hidden="true"> · </span>
          <span class="room-topic" title={room.topic}>
            {room.topic}
          </span>
        </>
      )}
    </p>
  );
}

/** The room's buttons in the chat header: the members panel (with the count), and its settings for the owner and admins. */
export function RoomHeadActions({ summary }: { summary: ConversationSummary }) {
  const open = membersPanelOpen.value;
  const count = summary.room?.memberCount ?? 0;
  return (
    <div class="chat-head-actions">
      <button
        id={MEMBERS_TOGGLE_ID}
        type="button"
        class={open ? 'head-button active' : 'head-button'}
        aria-expanded={open}
        aria-controls={open ? 'members-panel' : undefined}
        title={t('members.title')}
        data-testid="members-toggle"
        onClick={() => {
          membersPanelFocus.wanted = !open;
          membersPanelOpen.value = !open;
        }}
      >
        <UsersIcon size={19} />
        {/* Its name is what it shows, "Members 4": the word for screen readers, the number for everyone. */}
        <span class="sr-only">{t('members.title')} </span>
        <span class="head-count">{count}</span>
      </button>
      {canManageRoom(summary.role) && (
        <button
          type="button"
          class="icon-button"
          aria-label={t('settings.title')}
          title={t('settings.title')}
          data-testid="room-settings"
          onClick={() => (roomDialog.value = 'settings')}
        >
          <SettingsIcon size={19} />
        </button>
      )}
    </div>
  );
}
