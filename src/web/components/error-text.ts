import { en } from '../i18n/en.ts';
import type { MessageKey } from '../i18n/i18n.ts';

/** The translation key for an error code from the server or the client library. */
export function errorText(code: string | undefined): MessageKey {
  const key = `error.${code}`;
  return code && /^[A-Z_]+$/.test(code) && key in en ? (key as MessageKey) : 'error.generic';
}
