import { describe, expect, it } from 'vitest';
import { newFileId } from './files.ts';

describe('file ids', () => {
  it('are 22 base64url characters that never start with "-" or "_", so a command line takes them as values', () => {
    // One id in 32 would start with "-" or "_" without the redraw: 2,000 draws miss that with p < 1e-27.
    const ids = Array.from({ length: 2000 }, newFileId);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/); // PROTOCOL.md, Identifiers: `[A-Za-z0-9_-]{22}`
      expect(id).toMatch(/^[A-Za-z0-9]/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
