import type { UserRef } from '../../protocol/index.ts';
import type { RoomInfo } from '../../protocol/rooms.ts';
import { avatarColor, initialOf, roomColor } from '../lib/avatar.ts';
import { GlobeIcon, HashIcon, LockIcon } from './icons.tsx';

type Size = 'xs' | 'sm' | 'md' | 'lg';

/** A generated avatar: the name's first character on a colour that is stable per user. */
export function Avatar({ user, size = 'md', online }: { user: UserRef; size?: Size; online?: boolean }) {
  return (
    <span class={`avatar avatar-${size}`} style={{ '--avatar-bg': avatarColor(user.id) }} aria-hidden="true">
      <span class="avatar-initial">{initialOf(user.name)}</span>
      {online !== undefined && <span class={online ? 'presence presence-on' : 'presence presence-off'} />}
    </span>
  );
}

export function WorldAvatar({ size = 'md' }: { size?: Size }) {
  return (
    <span class={`avatar avatar-${size} avatar-world`} aria-hidden="true">
      <GlobeIcon size={size === 'sm' ? 16 : 22} />
    </span>
  );
}

/** A room: a rounded square in the room's colour, with # for a public room and a lock for a private one. */
export function RoomAvatar({ room, size = 'md' }: { room: Pick<RoomInfo, 'id' | 'visibility'> | undefined; size?: Size }) {
  const icon = size === 'sm' ? 15 : size === 'lg' ? 26 : 20;
  return (
    <span class={`avatar avatar-${size} avatar-room`} style={room ? { '--avatar-bg': roomColor(room.id) } : undefined} aria-hidden="true">
      {room?.visibility === 'private' ? <LockIcon size={icon} /> : <HashIcon size={icon} />}
    </span>
  );
}
