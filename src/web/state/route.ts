import { computed, signal } from '@preact/signals';
import { CONVERSATION_ID_PATTERN, WORLD, type ConversationId } from '../../protocol/conversations.ts';

/**
 * The address says which conversation is open: `#/c/world`, `#/c/dm:3:8`. `#/` is the
 * conversation list, which on a phone is its own screen (on a desktop the world chat shows).
 */
function parse(hash: string): ConversationId | null {
  const match = /^#\/c\/(.+)$/.exec(hash);
  if (!match) return null;
  const conv = decodeURIComponent(match[1]!);
  return CONVERSATION_ID_PATTERN.test(conv) ? conv : null;
}

export const routeConv = signal<ConversationId | null>(parse(location.hash));
addEventListener('hashchange', () => (routeConv.value = parse(location.hash)));

const phoneQuery = matchMedia('(max-width: 760px)');
export const isPhone = signal(phoneQuery.matches);
phoneQuery.addEventListener('change', () => (isPhone.value = phoneQuery.matches));

/** The conversation shown in the chat pane. */
export const activeConv = computed(() => routeConv.value ?? WORLD);

/** The conversation the user actually sees (none while the phone shows the list). */
export const viewingConv = computed(() => (isPhone.value && routeConv.value === null ? null : activeConv.value));

export function hrefOf(conv: ConversationId): string {
  return `#/c/${conv}`;
}

export function openConversation(conv: ConversationId): void {
  location.hash = hrefOf(conv);
}

export function showList(): void {
  location.hash = '#/';
}
