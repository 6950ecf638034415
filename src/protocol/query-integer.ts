import { z } from 'zod';

/**
 * A whole number in a query string, as `limit=50` writes it: decimal digits only, so `0x10`,
 * `1e2`, ` 5` or `+5` are refused (BAD_REQUEST) rather than read as some number, then checked by
 * `number` (its range). Sixteen digits at most: past that a JavaScript number is no longer exact.
 */
export function queryInteger<T extends z.ZodType<number, number>>(number: T) {
  return z
    .string()
    .regex(/^\d{1,16}$/, 'Expected a whole number written in decimal digits')
    .transform(Number)
    .pipe(number);
}
