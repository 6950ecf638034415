/**
 * The catalogue of error codes. Each code is stable (clients translate it for the user) and
 * knows the HTTP status it answers with. WebSocket errors travel in an `error` frame with the
 * same code; codes that end a connection carry the close code in CLOSE_CODES.
 */
export const ERRORS = {
  BAD_JSON: { status: 400, message: 'The request body or frame is not valid JSON.' },
  BAD_REQUEST: { status: 400, message: 'The request does not match the protocol schema.' },
  UNKNOWN_TYPE: { status: 400, message: 'Unknown frame type.' },
  HELLO_REQUIRED: { status: 400, message: 'Send a hello frame before anything else.' },
  ALREADY_GREETED: { status: 400, message: 'This connection already sent hello.' },
  TEXT_EMPTY: { status: 400, message: 'A message needs some text.' },
  TEXT_ILL_FORMED: { status: 400, message: 'Text must be well-formed Unicode: no unpaired UTF-16 surrogate and no NUL (U+0000).' },
  TEXT_TOO_LONG: { status: 400, message: 'The message is longer than the limit.' },
  NAME_INVALID: {
    status: 400,
    message: 'A name is 1-32 letters, digits, "_", "-" or "." in one script, not starting with ".".',
  },
  PASSWORD_INVALID: { status: 400, message: 'A password needs at least 8 characters.' },
  PASSWORD_TOO_COMMON: { status: 400, message: 'That password is one of the most common ones (or your name); choose another.' },
  NAME_TAKEN: { status: 409, message: 'That name is already taken; choose another.' },
  WRONG_CREDENTIALS: { status: 401, message: 'Wrong name or password.' },
  // 403, not 401: the session is fine, and a client must not take this for being signed out.
  WRONG_CURRENT_PASSWORD: { status: 403, message: 'The current password is wrong.' },
  UNAUTHENTICATED: { status: 401, message: 'Log in first.' },
  FORBIDDEN_ORIGIN: { status: 403, message: 'Requests from this web origin are not allowed here.' },
  HOST_NOT_ALLOWED: { status: 421, message: 'This server does not answer to that host name; its operator can add it with --public-url.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send JSON (Content-Type: application/json).' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request is larger than the limit.' },
  HEADERS_TOO_LARGE: { status: 431, message: "The request's headers are larger than the server reads (16 KiB)." },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  LOGIN_RATE_LIMITED: { status: 429, message: 'Too many failed logins; try again later.' },
  TOO_MANY_CONNECTIONS: { status: 429, message: 'This account has too many connections open; close a tab or device it no longer uses.' },
  PROTOCOL_UNSUPPORTED: { status: 400, message: 'This protocol version is not supported; update the client.' },
  ROOM_NAME_INVALID: { status: 400, message: 'A room name is 1-64 characters, without control characters.' },
  ROOM_TOPIC_INVALID: { status: 400, message: 'A topic is at most 250 characters on one line, without control characters.' },
  ROOM_ADMIN_REQUIRED: { status: 403, message: "Only the room's owner and admins can do this." },
  ROOM_OWNER_REQUIRED: { status: 403, message: "Only the room's owner can do this." },
  FILE_TOO_LARGE: { status: 413, message: 'The file is larger than the limit.' },
  FILE_DM_ONLY: { status: 400, message: 'Files can be sent in direct conversations only.' },
  FILE_STATE: { status: 409, message: 'The file transfer is not in a state that allows this.' },
  FILE_NOT_READY: { status: 409, message: 'The file has not been uploaded completely yet.' },
  FILE_GONE: { status: 410, message: 'The file is no longer available.' },
  FILE_HASH_MISMATCH: { status: 422, message: 'The bytes do not match the offered SHA-256; the file was discarded.' },
  UPLOAD_EXCEEDS_OFFER: { status: 413, message: 'More bytes were sent than the offered size; the upload was cut off and discarded.' },
  UPLOAD_OFFSET_MISMATCH: { status: 409, message: 'Upload-Offset does not match the bytes the server holds; ask with HEAD.' },
  UPLOAD_IN_PROGRESS: { status: 423, message: 'Another upload of this file is still running; retry shortly.' },
  UPLOAD_INTERRUPTED: { status: 400, message: 'The upload stopped before its end; resume it.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range is outside the file.' },
  TUS_VERSION_UNSUPPORTED: { status: 412, message: 'This server speaks tus 1.0.0 (Tus-Resumable: 1.0.0).' },
  STORAGE_FULL: { status: 507, message: 'The server is out of disk space; try again later.' },
  EXPORTS_BUSY: { status: 503, message: 'This server is already streaming as many data exports as it allows at once; try again in a minute.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; reconnect shortly.' },
  STORE_UNAVAILABLE: { status: 503, message: 'The database cannot be reached; nothing was stored. Retry shortly with the same client id.' },
  INTERNAL: { status: 500, message: 'Something went wrong on the server.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** WebSocket close codes the server uses. 4xxx are Parley's own. */
export const CLOSE_CODES = {
  /** Server shutting down; reconnect later. */
  GOING_AWAY: 1001,
  /** Frame over MAX_FRAME_BYTES (sent by the ws library itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The session was logged out or revoked; log in again. */
  SESSION_ENDED: 4001,
  /** The client speaks a protocol version the server does not. */
  PROTOCOL_UNSUPPORTED: 4002,
  /** The client did not read fast enough and its send queue overflowed; reconnect to catch up. */
  TOO_SLOW: 4008,
  /** No hello within the allowed time. */
  HELLO_TIMEOUT: 4010,
  /** No pong to the server's heartbeat ping by the next one: the connection looked dead. */
  HEARTBEAT_TIMEOUT: 4011,
  /** More frames (of any kind, pings included) than the frame limit allows; reconnect more slowly. */
  TOO_MANY_FRAMES: 4029,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];
