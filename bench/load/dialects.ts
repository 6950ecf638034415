import type { BenchUser, Target } from '../lib/targets.ts';
import { RawClient } from './raw-ws.ts';

/**
 * How a lean client speaks to each server under test. Parley and the `ws` peers receive the
 * same send frames and deliver the same `message` object; Socket.IO wraps both in its own
 * packet format (`42["event",{...}]`). A delivered frame is recognised from its first bytes.
 */
export type FrameKind = 'message' | 'ack' | 'error' | 'ping' | 'synced' | 'history' | 'connected' | 'other';

export interface Dialect {
  /** Opens the session: WebSocket upgrade plus whatever the protocol does before chat may flow. */
  open(port: number, user: BenchUser, full: boolean, cursor?: number): Promise<RawClient>;
  encodeSend(conv: string, clientId: string, text: string): string;
  /** Tells a frame's kind from its first bytes, at `offset` in `buffer` (at least 16 of them, or the whole frame). */
  classify(buffer: Buffer, offset: number, length: number): FrameKind;
  /** A full client's view of a message frame: its text, or null for other frames. */
  messageText(payload: Buffer): string | null;
  /** Answer to a protocol-level ping carried in a text frame (Engine.IO), if any. */
  pong?: string;
}

const B = (c: string) => c.charCodeAt(0);
// `{"type":"message"...`: the type's first letter is byte 9.
const TYPE_AT = 9;

const jsonChat = {
  encodeSend: (conv: string, clientId: string, text: string) => JSON.stringify({ type: 'send', conv, clientId, text }),
  classify(buffer: Buffer, offset: number, length: number): FrameKind {
    if (length <= TYPE_AT) return 'other';
    const c = buffer[offset + TYPE_AT];
    if (c === B('m')) return 'message';
    if (c === B('a')) return 'ack';
    if (c === B('e')) return 'error';
    return 'other';
  },
  messageText(payload: Buffer): string | null {
    const frame = JSON.parse(payload.toString()) as { type: string; message?: { text: string } };
    return frame.type === 'message' && frame.message ? frame.message.text : null;
  },
};

/** Waits for the first frame of `kind`, ignoring earlier frames. */
function until(client: RawClient, kind: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 60_000);
    client.onClose = () => reject(new Error(`closed while waiting for ${what}`));
    client.onFrame = (frameKind) => {
      if (frameKind !== kind) return;
      clearTimeout(timer);
      client.onFrame = () => {};
      client.onClose = () => {};
      resolve();
    };
  });
}

/** Parley's kinds, plus 'synced' (the end of the hello exchange) and 'history' replies. */
function parleyKind(buffer: Buffer, offset: number, length: number): FrameKind {
  if (length > TYPE_AT) {
    const c = buffer[offset + TYPE_AT];
    if (c === B('s')) return 'synced';
    if (c === B('h')) return 'history';
  }
  return jsonChat.classify(buffer, offset, length);
}

function socketioKind(buffer: Buffer, offset: number, length: number): FrameKind {
  const c0 = buffer[offset];
  if (length === 1 && c0 === B('2')) return 'ping';
  if (length >= 2 && c0 === B('4')) {
    const c1 = buffer[offset + 1];
    // 42["message",{...}]: byte 4 is the event name's first letter.
    if (c1 === B('2') && length > 4 && buffer[offset + 4] === B('m')) return 'message';
    if (c1 === B('0')) return 'connected';
  }
  return 'other';
}

const parley: Dialect = {
  ...jsonChat,
  classify: parleyKind,
  async open(port, user, full, cursor) {
    const client = await RawClient.connect({ port, path: '/ws', full, classify: parleyKind, headers: { Authorization: `Bearer ${user.token}` } });
    const synced = until(client, 'synced', 'synced');
    client.sendText(JSON.stringify({ type: 'hello', protocol: 1, ...(cursor === undefined ? {} : { cursors: { world: cursor } }) }));
    await synced;
    return client;
  },
};

const wsPeer: Dialect = {
  ...jsonChat,
  open: (port, user, full) =>
    RawClient.connect({ port, path: `/?id=${user.id}&name=${encodeURIComponent(user.name)}`, full, classify: jsonChat.classify }),
};

const socketio: Dialect = {
  pong: '3',
  async open(port, user, full) {
    const client = await RawClient.connect({ port, path: '/socket.io/?EIO=4&transport=websocket', full, classify: socketioKind });
    // Engine.IO "open" (0{...}), then the namespace CONNECT we send (40{auth}) is answered by 40{sid}.
    const connected = until(client, 'connected', 'socket.io connect');
    client.sendText(`40${JSON.stringify({ id: user.id, name: user.name })}`);
    await connected;
    return client;
  },
  encodeSend: (conv, clientId, text) => `42${JSON.stringify(['send', { conv, clientId, text }])}`,
  classify: socketioKind,
  messageText(payload) {
    const text = payload.toString();
    if (!text.startsWith('42')) return null;
    const [event, message] = JSON.parse(text.slice(2)) as [string, { text: string }];
    return event === 'message' ? message.text : null;
  },
};

export const DIALECTS: Record<Target, Dialect> = {
  parley,
  'ws-naive': wsPeer,
  'ws-ceiling': wsPeer,
  socketio,
};
