/** Hand-picked avatar colours that read well with white text in both themes. */
export const PALETTE = ['#e5534b', '#ec7a2e', '#3fae73', '#1f9e96', '#2f8fe0', '#5b6ee8', '#8a5cd6', '#c94f9a', '#e0608a', '#4f9fb8'];

/** A stable colour per user id, so a person looks the same everywhere. */
export function avatarColor(userId: number): string {
  // Multiplicative hashing spreads consecutive ids (1, 2, 3…) over the palette.
  const hash = Math.imul(userId, 2654435761) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}

/** The first character a person would see (a whole emoji or CJK character, not half of one). */
export function initialOf(name: string): string {
  const first = [...name][0] ?? '?';
  return first.toLocaleUpperCase();
}

/** A stable colour per room, from its id (FNV-1a over the characters). */
export function roomColor(roomId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < roomId.length; i++) hash = Math.imul(hash ^ roomId.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length]!;
}
