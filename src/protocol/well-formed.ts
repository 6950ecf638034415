/**
 * Text that enters Parley is well-formed Unicode, checked once at the edge for every string of
 * every frame and body (keys included), before anything is committed or acknowledged:
 *
 * - no unpaired UTF-16 surrogate (U+D800–U+DFFF alone): it has no UTF-8 encoding, so storage
 *   could not keep it — SQLite handed back three U+FFFD for each — and what was acknowledged
 *   would not be what is stored;
 * - no NUL (U+0000): PostgreSQL text cannot hold it, and no person types it.
 *
 * Every other code point (controls, bidi marks, noncharacters, unassigned ones) is stored and
 * returned exactly as sent, without normalisation: clients show text as text.
 */
const ILL_FORMED = /[\p{Cs}\u0000]/u;

export function isWellFormedText(text: string): boolean {
  return !ILL_FORMED.test(text);
}

/** The path to the first string (a value or a key) in a parsed JSON value that is not well-formed text, or null. */
export function findIllFormedText(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return isWellFormedText(value) ? null : path;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormedText(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (!isWellFormedText(key)) return [...path, key];
    const found = findIllFormedText(inner, [...path, key]);
    if (found) return found;
  }
  return null;
}
