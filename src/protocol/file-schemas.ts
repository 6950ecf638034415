/** Request bodies and queries of the file API, validated at the edge. */
import { z } from 'zod';
import { queryInteger } from './query-integer.ts';
import { CONVERSATION_ID_PATTERN } from './conversations.ts';
import { FILE_NAME_MAX_CODE_POINTS, FILE_TYPE_MAX_LENGTH, SHA256_PATTERN } from './files.ts';
import { CLIENT_ID_PATTERN } from './limits.ts';

/** `POST /api/files`: offer a file in a direct conversation. */
export const fileOfferBody = z.strictObject({
  conv: z.string().regex(CONVERSATION_ID_PATTERN),
  clientId: z.string().regex(CLIENT_ID_PATTERN),
  // Any well-formed text (validate.ts refuses lone surrogates and NUL first), newlines included:
  // a name is only ever shown as text.
  name: z.string().min(1).refine((name) => [...name].length <= FILE_NAME_MAX_CODE_POINTS, {
    message: `at most ${FILE_NAME_MAX_CODE_POINTS} characters`,
  }),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(FILE_TYPE_MAX_LENGTH).default(''),
  sha256: z.string().regex(SHA256_PATTERN, 'lower-case hex SHA-256'),
});
export type FileOfferBody = z.input<typeof fileOfferBody>;

/** `GET /api/files?conv=&state=open` */
export const filesQuery = z.strictObject({
  conv: z.string().regex(CONVERSATION_ID_PATTERN).optional(),
  /** `open`: offered or accepted; `all`: every state. */
  state: z.enum(['open', 'all']).default('open'),
  limit: queryInteger(z.number().int().min(1).max(100)).default(100),
});
