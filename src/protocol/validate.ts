import type { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { findTextProblem, MAX_NESTING } from './well-formed.ts';

export type Validated<T> = { ok: true; data: T } | { ok: false; code: ErrorCode; message: string };

/**
 * The one check of everything that arrives (frames and HTTP bodies and queries alike): first
 * that all its text is well-formed and it nests no deeper than MAX_NESTING (well-formed.ts),
 * then the schema. The message names the
 * field, e.g. `text: not well-formed Unicode …` or `limit: Too big …`.
 */
export function validate<T extends z.ZodType>(schema: T, input: unknown): Validated<z.output<T>> {
  const problem = findTextProblem(input);
  if (problem?.kind === 'ill-formed') {
    return { ok: false, code: 'TEXT_ILL_FORMED', message: `${where(problem.path)}not well-formed Unicode (an unpaired surrogate or NUL)` };
  }
  if (problem) return { ok: false, code: 'BAD_REQUEST', message: `${where(problem.path)}nested more than ${MAX_NESTING} levels deep` };
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  return { ok: false, code: 'BAD_REQUEST', message: `${where(issue?.path ?? [])}${issue?.message ?? 'does not match the schema'}` };
}

function where(path: readonly PropertyKey[]): string {
  return path.length > 0 ? `${path.map(String).join('.')}: ` : '';
}
