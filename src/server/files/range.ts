/** The one byte range a download serves (RFC 9110 §14): inclusive `start`..`end`. */
export type ByteRange = { start: number; end: number };

/**
 * Parses a Range header against a file of `size` bytes: a single `bytes=a-b`, `bytes=a-` or
 * `bytes=-n`. Returns null to serve the whole file (no header, another unit, several ranges:
 * ignoring Range is always allowed) and 'unsatisfiable' for a range wholly outside the file. Of
 * an empty file only `bytes=-n` with n > 0 can be satisfied (RFC 9110 §14.1.1): by the whole,
 * empty file, as there is no byte to name in a Content-Range.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    if (size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
