/**
 * Every limit the protocol enforces, in one place. docs/PROTOCOL.md lists them; the server
 * checks them at the edge and tests exercise each one at its boundary.
 */
export const PROTOCOL_VERSION = 2;
/**
 * Versions a server accepts in hello. 2 added rooms; a version-1 connection is served exactly as
 * before: it hears nothing of rooms (docs/PROTOCOL.md, "Versions").
 */
export const SUPPORTED_PROTOCOLS: readonly number[] = [1, 2];

/** Longest message text, counted in Unicode code points (what a person sees as characters). */
export const MAX_TEXT_CODE_POINTS = 4000;
/** Largest WebSocket frame the server accepts; larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest HTTP JSON body the API accepts. */
export const MAX_HTTP_BODY_BYTES = 16 * 1024;
/** History page size: the default and the most one request may ask for. */
export const HISTORY_PAGE_DEFAULT = 50;
export const HISTORY_PAGE_MAX = 100;
/**
 * Frames of any kind (text, binary, ping, pong) one connection may send: this many at once, then
 * this many per second; beyond it the connection is closed with 4029. Twice the send rate and
 * burst where those are set higher (--send-rate, --send-burst).
 */
export const FRAME_BURST = 1000;
export const FRAME_RATE_PER_SECOND = 500;
/** At most this many missed messages per conversation are replayed on reconnect; beyond it the server sends `gap`. */
export const CATCH_UP_MAX = 1000;

export const USERNAME_MAX_CODE_POINTS = 32;
export const PASSWORD_MIN_CODE_POINTS = 8;
/** Bounds the cost of hashing a password someone sends us. */
export const PASSWORD_MAX_BYTES = 1024;
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
