import type { z } from 'zod';
import { validate } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';

/** Validates a request body or query (protocol/validate.ts); the first problem becomes the error message. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = validate(schema, body);
  if (result.ok) return result.data;
  throw new ParleyError(result.code, `${result.message}.`);
}
