import { CLIENT_FRAME_TYPES, clientFrame, isWellFormedText, validate, type ClientFrame, type ErrorCode } from '../../protocol/index.ts';

/** The request ids an error frame echoes back. */
export interface EchoIds {
  ref?: string | number;
  clientId?: string;
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string; ids: EchoIds };

/**
 * Validates one incoming text frame against the shared schemas. Every failure names what was
 * wrong, and echoes the frame's `ref` or `clientId` when it had a usable one so the client can
 * match the error to its request.
 */
export function parseClientFrame(text: string | null): ParsedFrame {
  if (text === null) return fail('BAD_REQUEST', 'Frames are JSON text, not binary.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('BAD_JSON', 'The frame is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('BAD_REQUEST', 'A frame is a JSON object with a "type".');
  }
  const record = value as Record<string, unknown>;
  const ids = echoIds(record);
  if (typeof record.type !== 'string' || !(CLIENT_FRAME_TYPES as readonly string[]).includes(record.type)) {
    return fail('UNKNOWN_TYPE', `Unknown frame type; expected one of ${CLIENT_FRAME_TYPES.join(', ')}.`, ids);
  }
  const result = validate(clientFrame, value);
  if (!result.ok) return fail(result.code, `Invalid ${record.type} frame: ${result.message}.`, ids);
  return { ok: true, frame: result.data };
}

function echoIds(record: Record<string, unknown>): EchoIds {
  const ids: EchoIds = {};
  // Echoed text is text that enters too: only well-formed ids come back.
  const echoable = (id: unknown): id is string => typeof id === 'string' && id.length <= 64 && isWellFormedText(id);
  if (echoable(record.ref) || Number.isSafeInteger(record.ref)) ids.ref = record.ref as string | number;
  if (echoable(record.clientId)) ids.clientId = record.clientId;
  return ids;
}

function fail(code: ErrorCode, message: string, ids: EchoIds = {}): ParsedFrame {
  return { ok: false, code, message, ids };
}
