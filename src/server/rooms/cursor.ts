import { ROOM_ID_PATTERN, isWellFormedText } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';

/** A directory page's `next`: where the page ended, opaque to clients (base64url of JSON). */
export function encodeCursor(position: { nameKey: string; id: string }): string {
  return Buffer.from(JSON.stringify([position.nameKey, position.id])).toString('base64url');
}

/**
 * Only what encodeCursor could have made. The cursor is checked here, not at the edge: the edge
 * sees base64url, and JSON's escapes inside it can carry text the edge refuses (`\u0000`, which
 * PostgreSQL cannot hold, or a lone surrogate).
 */
export function decodeCursor(cursor: string): { nameKey: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      isWellFormedText(value[0]) &&
      typeof value[1] === 'string' &&
      ROOM_ID_PATTERN.test(value[1])
    ) {
      return { nameKey: value[0], id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new ParleyError('BAD_REQUEST', 'after: not a cursor this server gave out.');
}
