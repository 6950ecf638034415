import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DOCS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

function hasChineseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/**
 * Where screenshots go: $PARLEY_SCREENSHOTS_DIR if set, else docs/screenshots/, unless this machine has no Chinese font (Debian:
 * fonts-noto-cjk), where Chinese would render as empty boxes; then a temporary folder, so the
 * committed pictures are not replaced by broken ones.
 */
export const SCREENSHOTS = (() => {
  const wanted = process.env.PARLEY_SCREENSHOTS_DIR;
  if (wanted) return wanted.endsWith('/') ? wanted : `${wanted}/`;
  if (hasChineseFont()) return DOCS;
  const fallback = join(tmpdir(), 'parley-screenshots');
  console.warn(`No Chinese font on this machine (apt-get install fonts-noto-cjk): screenshots go to ${fallback}, not docs/screenshots/.`);
  return `${fallback}/`;
})();
mkdirSync(SCREENSHOTS, { recursive: true });
