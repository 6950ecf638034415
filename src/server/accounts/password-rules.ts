import { PASSWORD_MIN_CODE_POINTS } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import { nameKeyOf } from './names.ts';

let common: Promise<Set<string>> | undefined;

/** The 49,000 most common passwords of breach lists (zxcvbn-ts), read on first use. */
function commonPasswords(): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common']));
  return common;
}

/**
 * A new password (ASVS 5.0, V6.2): at least 8 characters (the upper bound, 1,024 bytes, is the
 * body schema's), any characters, no composition rules; refused when it is one of the common
 * passwords of breach lists, or the user's own name, ignoring case.
 */
export async function checkNewPassword(password: string, name: string): Promise<void> {
  if ([...password].length < PASSWORD_MIN_CODE_POINTS) throw new ParleyError('PASSWORD_INVALID');
  const folded = nameKeyOf(password);
  if (folded === nameKeyOf(name) || (await commonPasswords()).has(folded)) throw new ParleyError('PASSWORD_TOO_COMMON');
}
