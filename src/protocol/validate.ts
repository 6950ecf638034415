import type { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { findIllFormedText } from './well-formed.ts';

export type Validated<T> = { ok: true; data: T } | { ok: false; code: ErrorCode; message: string };

/**
 * The one check of everything that arrives (frames and HTTP bodies and queries alike): first
 * that all its text is well-formed (well-formed.ts), then the schema. The message names the
 * field, e.g. `text: not well-formed Unicode …` or `limit: Too big …`.
 */
export function validate<T extends z.ZodType>(schema: T, input: unknown): Validated<z.output<T>> {
  const illFormed = findIllFormedText(input);
  if (illFormed) {
    return { ok: false, code: 'TEXT_ILL_FORMED', message: `${where(illFormed)}not well-formed Unicode (an unpaired surrogate or NUL)` };
  }
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  return { ok: false, code: 'BAD_REQUEST', message: `${where(issue?.path ?? [])}${issue?.message ?? 'does not match the schema'}` };
}

function where(path: readonly PropertyKey[]): string {
  return path.length > 0 ? `${path.map(String).join('.')}: ` : '';
}
