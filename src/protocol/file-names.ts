/**
 * A file name comes from another person. It is only ever shown as text; where it must become
 * a name on a disk (the recipient's download folder, the download header), it is reduced to one
 * harmless path segment first. Shared by the server and both clients.
 */

/**
 * Characters that make a name read as another: bidirectional controls reorder what follows them
 * (U+202E makes "evil\u202Efdp.exe" read "evilexe.pdf"), and controls, line separators, the
 * zero-width space and the BOM have no glyph. Clients show them as U+FFFD; a saved name has `_`.
 */
export const DECEPTIVE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
/** Path separators and what Windows refuses in a name. */
const NOT_IN_PATHS = /[/\\:*?"<>|]/g;
/** Device names Windows opens whatever follows them (`nul .txt` too: it drops the spaces before the dot). */
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[\d¹²³]|lpt[\d¹²³])\s*(?:\..*)?$/i;
const MAX_BYTES = 200;
const utf8 = new TextEncoder();

/** One path segment: no separators, control or bidirectional characters, leading dots or reserved device names; at most 200 UTF-8 bytes. */
export function safeFileName(name: string): string {
  let safe = name.normalize('NFC').replace(DECEPTIVE_IN_NAMES, '_').replace(NOT_IN_PATHS, '_').replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(safe)) safe = `_${safe}`;
  if (utf8.encode(safe).length > MAX_BYTES) {
    // Cut whole code points, keeping the extension when it is short.
    const dot = safe.lastIndexOf('.');
    const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
    let stem = [...safe.slice(0, safe.length - extension.length)];
    while (stem.length > 0 && utf8.encode(stem.join('') + extension).length > MAX_BYTES) stem.pop();
    safe = stem.join('') + extension;
  }
  return safe === '' ? 'file' : safe;
}

/**
 * `Content-Disposition: attachment` with an ASCII fallback `filename` and the exact UTF-8 name in
 * `filename*` (RFC 6266, RFC 5987), both from safeFileName.
 */
export function contentDisposition(name: string): string {
  const safe = safeFileName(name);
  const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/[%;]/g, '_');
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
