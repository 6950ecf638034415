import type { Message, UserRef } from '../../protocol/frames.ts';
import type { SystemEvent } from '../../protocol/rooms.ts';
import { t, type MessageKey } from '../i18n/i18n.ts';

/** "1 member", "12 members". */
export function memberCount(n: number): string {
  return n === 1 ? t('rooms.memberOne') : t('rooms.members', { n });
}

/** A piece of a sentence: plain words, or a name (shown in bold). */
export type Part = string | { name: string };

/**
 * A system message ("alice invited bob") in the current language, as parts so the names can
 * stand out; "you" when it is about the reader. The server's English `text` is only a fallback
 * for clients that do not know the event.
 */
export function systemParts(message: Message, me: UserRef): Part[] {
  const event = message.system;
  if (!event) return [message.text];
  const who = (user: UserRef, subject: boolean) => (user.id === me.id ? (subject ? t('system.you') : t('system.youObject')) : user.name);
  const { key, params } = sentence(event, me);
  const fill: Record<string, string> = { actor: who(message.sender, true), ...params };
  if ('user' in event) fill.user = who(event.user, false);
  return fillParts(t(key), fill);
}

export function systemLine(message: Message, me: UserRef): string {
  return systemParts(message, me)
    .map((part) => (typeof part === 'string' ? part : part.name))
    .join('');
}

function sentence(event: SystemEvent, me: UserRef): { key: MessageKey; params: Record<string, string> } {
  switch (event.kind) {
    case 'created':
      return { key: 'system.created', params: { name: event.name } };
    case 'joined':
      return { key: 'system.joined', params: {} };
    case 'left':
      return { key: 'system.left', params: {} };
    case 'invited':
      return { key: 'system.invited', params: {} };
    case 'removed':
      return { key: 'system.removed', params: {} };
    case 'renamed':
      return { key: 'system.renamed', params: { from: event.from, name: event.name } };
    case 'topic':
      return event.topic === '' ? { key: 'system.topicCleared', params: {} } : { key: 'system.topic', params: { topic: event.topic } };
    case 'visibility':
      return { key: event.visibility === 'public' ? 'system.madePublic' : 'system.madePrivate', params: {} };
    case 'role':
      if (event.role === 'owner') return { key: event.user.id === me.id ? 'system.ownerYou' : 'system.owner', params: {} };
      return { key: event.role === 'admin' ? 'system.admin' : 'system.member', params: {} };
  }
}

/** Splits a template at its `{placeholders}`: words stay text, filled-in values become names. */
function fillParts(template: string, params: Record<string, string>): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const match of template.matchAll(/\{(\w+)\}/g)) {
    if (match.index > at) parts.push(template.slice(at, match.index));
    const value = params[match[1]!];
    parts.push(value === undefined ? match[0] : { name: value });
    at = match.index + match[0].length;
  }
  if (at < template.length) parts.push(template.slice(at));
  return parts;
}
