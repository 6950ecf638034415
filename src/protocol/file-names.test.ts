import { describe, expect, it } from 'vitest';
import { contentDisposition, safeFileName } from './file-names.ts';

describe('safeFileName', () => {
  it('makes one harmless path segment of anything', () => {
    expect(safeFileName('../../x')).toBe('_.._x');
    expect(safeFileName('C:\\Windows\\x')).toBe('C__Windows_x');
    expect(safeFileName('a\u0000b\nc')).toBe('a_b_c');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('...')).toBe('file');
    expect(safeFileName('CON.txt')).toBe('_CON.txt');
    expect(safeFileName('报告.pdf')).toBe('报告.pdf');
    expect(safeFileName('nul .txt')).toBe('_nul .txt');
    expect(safeFileName('COM¹.log')).toBe('_COM¹.log');
    expect(safeFileName('null.txt')).toBe('null.txt');
  });

  it('turns the characters that make a name read as another into _: bidi controls, separators, zero-width space, BOM', () => {
    // U+202E would make this read "evilexe.pdf" in a file manager.
    expect(safeFileName('evil\u202Efdp.exe')).toBe('evil_fdp.exe');
    for (const c of ['\u061c', '\u200b', '\u200e', '\u200f', '\u2028', '\u2029', '\u202a', '\u202d', '\u2066', '\u2069', '\ufeff']) {
      expect([c.codePointAt(0)!.toString(16), safeFileName(`a${c}b.txt`)]).toEqual([c.codePointAt(0)!.toString(16), 'a_b.txt']);
    }
    // Joiners stay: emoji sequences and several scripts need them.
    expect(safeFileName('👩\u200d💻 notes.md')).toBe('👩\u200d💻 notes.md');
    expect(contentDisposition('evil\u202Efdp.exe')).toBe(`attachment; filename="evil_fdp.exe"; filename*=UTF-8''evil_fdp.exe`);
  });

  it('keeps at most 200 UTF-8 bytes, whole characters, and a short extension', () => {
    const safe = safeFileName(`${'文'.repeat(100)}.pdf`);
    expect(new TextEncoder().encode(safe).length).toBeLessThanOrEqual(200);
    expect(safe.endsWith('.pdf')).toBe(true);
  });
});

describe('contentDisposition', () => {
  it('is an attachment with an ASCII fallback and the exact name in filename* (RFC 5987)', () => {
    expect(contentDisposition('报告 (final).pdf')).toBe(
      `attachment; filename="__ (final).pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%28final%29.pdf`,
    );
    expect(contentDisposition('say "hi"\r\nX-Injected: 1')).toBe(
      `attachment; filename="say _hi___X-Injected_ 1"; filename*=UTF-8''say%20_hi___X-Injected_%201`,
    );
  });
});
