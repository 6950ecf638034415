import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `room:` and 12 random letters and digits (71 bits): ids say nothing about how many rooms exist. */
export function newRoomId(): string {
  let id = '';
  while (id.length < 12) {
    for (const byte of randomBytes(16)) {
      // 248 = 4 × 62: bytes above it are drawn again, so every character is equally likely.
      if (byte < 248 && id.length < 12) id += ALPHABET[byte % 62];
    }
  }
  return `room:${id}`;
}
