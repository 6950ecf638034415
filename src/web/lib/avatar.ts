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
