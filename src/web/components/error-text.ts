import type { MessageKey } from '../i18n/i18n.ts';

const KNOWN = new Set([
  'WRONG_CREDENTIALS',
  'NAME_TAKEN',
  'LOGIN_RATE_LIMITED',
  'RATE_LIMITED',
  'NAME_INVALID',
  'PASSWORD_INVALID',
  'PASSWORD_TOO_COMMON',
  'TEXT_TOO_LONG',
  'TEXT_EMPTY',
  'NOT_FOUND',
  'NETWORK',
  'UNAUTHENTICATED',
  'FILE_TOO_LARGE',
  'FILE_DM_ONLY',
  'FILE_STATE',
  'FILE_NOT_READY',
  'FILE_GONE',
  'FILE_HASH_MISMATCH',
  'UPLOAD_EXCEEDS_OFFER',
  'STORAGE_FULL',
  'NOT_SAME_FILE',
  'ROOM_NAME_INVALID',
  'ROOM_TOPIC_INVALID',
  'ROOM_ADMIN_REQUIRED',
  'ROOM_OWNER_REQUIRED',
]);

/** The translation key for an error code from the server or the client library. */
export function errorText(code: string | undefined): MessageKey {
  return code && KNOWN.has(code) ? (`error.${code}` as MessageKey) : 'error.generic';
}
