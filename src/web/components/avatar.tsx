import type { UserRef } from '../../protocol/index.ts';
import { avatarColor, initialOf } from '../lib/avatar.ts';
import { GlobeIcon } from './icons.tsx';

type Size = 'sm' | 'md' | 'lg';

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
