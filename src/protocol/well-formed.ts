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

/**
 * How deep a frame or body may nest objects and arrays. Parley's deepest is two (a hello's
 * cursors); a client that sends thousands of levels is only trying to make the server work (a
 * check that recursed with it overflowed the stack and took the process down), so anything past
 * this is refused before any deeper level is looked at.
 */
export const MAX_NESTING = 32;

/** What is wrong with the text of a parsed JSON value, and where. */
export interface TextProblem {
  kind: 'ill-formed' | 'too-deep';
  path: (string | number)[];
}

/**
 * The first string (a value or a key) in a parsed JSON value that is not well-formed text, or the
 * first object or array nested deeper than MAX_NESTING; null when there is neither. One pass, one
 * path array pushed and popped (no copy per level), recursion bounded by MAX_NESTING.
 */
export function findTextProblem(value: unknown): TextProblem | null {
  const path: (string | number)[] = [];
  const visit = (inner: unknown): TextProblem['kind'] | null => {
    if (typeof inner === 'string') return isWellFormedText(inner) ? null : 'ill-formed';
    if (typeof inner !== 'object' || inner === null) return null;
    if (path.length >= MAX_NESTING) return 'too-deep';
    if (Array.isArray(inner)) {
      for (let i = 0; i < inner.length; i++) {
        path.push(i);
        const found = visit(inner[i]);
        if (found) return found;
        path.pop();
      }
      return null;
    }
    for (const key of Object.keys(inner)) {
      path.push(key);
      if (!isWellFormedText(key)) return 'ill-formed';
      const found = visit((inner as Record<string, unknown>)[key]);
      if (found) return found;
      path.pop();
    }
    return null;
  };
  const kind = visit(value);
  return kind ? { kind, path } : null;
}
