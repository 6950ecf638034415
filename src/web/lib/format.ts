import type { Locale } from '../i18n/i18n.ts';
import { formatBytes, formatCount, formatSecondsFigure } from '../../lib/units.ts';

// One convention for sizes and durations, shared with the CLI (src/lib/units.ts).

/** "12.4 MiB": binary multiples with binary symbols, three significant digits. */
export const humanBytes = (bytes: number, locale: Locale): string => formatBytes(bytes, locale);

/** "307,200": an exact count, grouped for reading. */
export const exactNumber = (n: number, locale: Locale): string => formatCount(n, locale);

/** Seconds for "in T s": "12.3", "1.25", "0.043" (a fast local transfer still shows a real figure). */
export const seconds = (s: number, locale: Locale): string => formatSecondsFigure(s, locale);

/** Whole percent, never 100 before the last byte. */
export function percentOf(done: number, total: number): number {
  if (total <= 0) return 100;
  if (done >= total) return 100;
  return Math.min(99, Math.floor((done / total) * 100));
}

/** A duration as whole hours, minutes and seconds, for "time left". */
export function splitDuration(totalSeconds: number): { h: number; m: number; s: number } {
  const whole = Math.max(1, Math.ceil(totalSeconds));
  return { h: Math.floor(whole / 3600), m: Math.floor((whole % 3600) / 60), s: whole % 60 };
}

/** The extension of a file name, for its icon and label: "PDF", or "" when there is none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return '';
  const extension = name.slice(dot + 1);
  return /^[\p{L}\p{N}]{1,5}$/u.test(extension) ? extension.toUpperCase() : '';
}

export type FileKind = 'image' | 'video' | 'audio' | 'pdf' | 'archive' | 'code' | 'doc' | 'sheet' | 'slides' | 'text' | 'other';

const BY_EXTENSION: Record<string, FileKind> = {
  PDF: 'pdf',
  PNG: 'image', JPG: 'image', JPEG: 'image', GIF: 'image', WEBP: 'image', SVG: 'image', HEIC: 'image', BMP: 'image', AVIF: 'image',
  MP4: 'video', MOV: 'video', MKV: 'video', WEBM: 'video', AVI: 'video',
  MP3: 'audio', WAV: 'audio', FLAC: 'audio', OGG: 'audio', M4A: 'audio', AAC: 'audio',
  ZIP: 'archive', RAR: 'archive', '7Z': 'archive', TAR: 'archive', GZ: 'archive', TGZ: 'archive', BZ2: 'archive', XZ: 'archive', ZST: 'archive',
  DOC: 'doc', DOCX: 'doc', ODT: 'doc', RTF: 'doc', PAGES: 'doc',
  XLS: 'sheet', XLSX: 'sheet', ODS: 'sheet', CSV: 'sheet', TSV: 'sheet', NUMBERS: 'sheet',
  PPT: 'slides', PPTX: 'slides', ODP: 'slides', KEY: 'slides',
  TXT: 'text', MD: 'text', LOG: 'text',
  JS: 'code', TS: 'code', TSX: 'code', JSX: 'code', PY: 'code', C: 'code', H: 'code', CPP: 'code', JAVA: 'code', GO: 'code', RS: 'code',
  RB: 'code', SH: 'code', JSON: 'code', HTML: 'code', CSS: 'code', XML: 'code', YAML: 'code', YML: 'code', SQL: 'code', IPYNB: 'code',
};

/** What kind of file a name and declared type suggest (for the icon only; nothing trusts it). */
export function kindOf(name: string, type: string): FileKind {
  const byName = BY_EXTENSION[extensionOf(name)];
  if (byName) return byName;
  const major = type.split('/')[0];
  if (major === 'image' || major === 'video' || major === 'audio') return major;
  if (major === 'text') return 'text';
  return 'other';
}

/** Length as the server's limits count it: code points, so an emoji or 𝄞 counts once. */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
