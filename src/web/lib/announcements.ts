import { WORLD, dmMembers, type ConversationId } from '../../protocol/conversations.ts';
import type { Message, UserRef } from '../../protocol/frames.ts';
import { t } from '../i18n/i18n.ts';
import { systemLine } from './room-words.ts';

/** More messages than this from one conversation in one go are announced as a count. */
export const MAX_SPOKEN_PER_CONVERSATION = 3;
/** A screen reader reads every character: a long message is cut here. */
const MAX_SPOKEN_CHARS = 200;

export interface Listener {
  me: UserRef;
  /** The conversation on screen (null on a phone's list). */
  viewing: ConversationId | null;
  /** How the sidebar names a conversation ("World chat", "bob", "Book club"). */
  nameOf(conv: ConversationId): string;
}

/**
 * What a screen reader says about messages that just arrived. Only news is spoken: messages
 * from others in the open conversation (a room's changes in words: "alice invited bob"), and
 * elsewhere only what is addressed to you (a direct message, "@you" in the world chat or a room,
 * an invitation to a room). A burst becomes a count, so speech never falls behind.
 */
export function announcementsFor(arrived: readonly Message[], listener: Listener): string[] {
  const groups = new Map<ConversationId, string[]>();
  for (const message of arrived) {
    if (message.sender.id === listener.me.id) continue;
    const open = message.conv === listener.viewing;
    const direct = dmMembers(message.conv) !== null;
    const body = spoken(message);
    let line: string;
    if (message.system) {
      if (open) line = systemLine(message, listener.me);
      else if (message.system.kind === 'invited' && message.system.user.id === listener.me.id) {
        line = t('announce.invited', { name: message.sender.name, conv: listener.nameOf(message.conv) });
      } else continue;
    } else if (open) line = t('announce.message', { name: message.sender.name, text: body });
    else if (direct) line = t('announce.direct', { name: message.sender.name, text: body });
    else if (mentions(message.text, listener.me.name)) {
      line =
        message.conv === WORLD
          ? t('announce.mention', { name: message.sender.name, text: body })
          : t('announce.mentionIn', { name: message.sender.name, conv: listener.nameOf(message.conv), text: body });
    } else continue;
    const group = groups.get(message.conv) ?? [];
    group.push(line);
    groups.set(message.conv, group);
  }
  return [...groups].flatMap(([conv, lines]) =>
    lines.length > MAX_SPOKEN_PER_CONVERSATION ? [t('announce.many', { n: lines.length, conv: listener.nameOf(conv) })] : lines,
  );
}

function spoken(message: Message): string {
  const text = message.file ? t('conv.filePreview', { name: message.file.name }) : message.text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_SPOKEN_CHARS ? `${text.slice(0, MAX_SPOKEN_CHARS)}…` : text;
}

/**
 * "@name" as a word of its own, in any case: not inside an e-mail address ("x@name.org"), nor
 * the start of a longer name ("@name_2", "@name.smith"); a full stop that ends the sentence is fine.
 */
export function mentions(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}_.@-])@${escaped}(?![\\p{L}\\p{N}_-]|\\.[\\p{L}\\p{N}_-])`, 'iu').test(text);
}
