import WebSocket from 'ws';
import { ParleyApi } from './api.ts';
import { ChatSession, type SessionOptions, type SocketLike } from './session.ts';

/** A session for Node.js: `ws` with the bearer token in the handshake (Node has no cookie jar). */
export function nodeSession(api: ParleyApi, options: Partial<SessionOptions> & { ca?: string; rejectUnauthorized?: boolean } = {}): ChatSession {
  return new ChatSession({
    url: api.socketUrl,
    createSocket: (url) =>
      new WebSocket(url, {
        headers: api.token ? { authorization: `Bearer ${api.token}` } : {},
        perMessageDeflate: false,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      }) as unknown as SocketLike,
    ...options,
  });
}
