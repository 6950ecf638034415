import type { z } from 'zod';
import { ParleyError } from '../errors.ts';

/** Validates a request body or query against its schema; the first problem becomes the error message. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new ParleyError('BAD_REQUEST', `${where}${issue?.message ?? 'does not match the schema'}.`);
}
