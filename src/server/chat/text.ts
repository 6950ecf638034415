import { MAX_TEXT_CODE_POINTS } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';

/** Message text must have something besides white space and at most MAX_TEXT_CODE_POINTS code points. */
export function checkText(text: string): void {
  // UTF-16 length bounds the code-point count from above, so most texts skip the count.
  if (text.length > MAX_TEXT_CODE_POINTS && countCodePoints(text) > MAX_TEXT_CODE_POINTS) {
    throw new ParleyError('TEXT_TOO_LONG', `A message is at most ${MAX_TEXT_CODE_POINTS} characters.`);
  }
  if (text.trim() === '') throw new ParleyError('TEXT_EMPTY');
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
