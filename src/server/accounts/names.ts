import { USERNAME_MAX_CODE_POINTS } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';

const NAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_.-]+$/u;

/**
 * Checks a user name and returns it NFC-normalised with its uniqueness key. Names are unique
 * case-insensitively ("Alice" and "alice" are one account), so the key is the lower-cased form.
 */
export function checkName(raw: string): { name: string; nameKey: string } {
  const name = raw.normalize('NFC');
  const length = [...name].length;
  if (length < 1 || length > USERNAME_MAX_CODE_POINTS || !NAME_PATTERN.test(name)) {
    throw new ParleyError('NAME_INVALID');
  }
  return { name, nameKey: nameKeyOf(name) };
}

export function nameKeyOf(name: string): string {
  return name.normalize('NFC').toLowerCase().normalize('NFC');
}
