import { signal } from '@preact/signals';

/**
 * Whether the members panel is open beside a room. It stays open from room to room (as Zulip's
 * right sidebar does) and shows only while a room is on screen.
 */
export const membersPanelOpen = signal(false);

/**
 * Set when the user opens the panel with its button: the panel then takes the focus. Opening
 * another room while it stays open does not (the focus goes where the room puts it).
 */
export const membersPanelFocus = { wanted: false };

/** The room dialog open over the chat, if any. */
export const roomDialog = signal<'settings' | 'invite' | null>(null);

/** The id of the header button that opens and closes the members panel (the focus returns there). */
export const MEMBERS_TOGGLE_ID = 'members-toggle';
