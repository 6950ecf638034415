// Values come from the zod-free protocol modules, so a browser bundle does not carry the schemas.
import type { ConversationId } from '../protocol/conversations.ts';
import { CLOSE_CODES, type ErrorCode } from '../protocol/errors.ts';
import type { FileCard } from '../protocol/files.ts';
import type {
  ConversationSummary,
  Message,
  PresenceChange,
  ServerFrame,
  ServerFrameOf,
  UserRef,
} from '../protocol/frames.ts';
import { PROTOCOL_VERSION } from '../protocol/limits.ts';
import { Emitter } from './emitter.ts';
import { ParleyClientError } from './errors.ts';
import { MessageOrder } from './message-order.ts';
import { ReadPositions } from './read-positions.ts';
import { storeRetryDelay } from './store-retry.ts';

/** The part of the WebSocket API the session needs: the browser's WebSocket and `ws` both fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type ConnectionState = 'connecting' | 'syncing' | 'online' | 'reconnecting' | 'closed';

export interface SessionEvents extends Record<string, unknown> {
  state: { state: ConnectionState; closeCode?: number; reason?: string };
  welcome: ServerFrameOf<'welcome'>;
  /** A message, delivered exactly once per session and in order within its conversation. */
  message: Message;
  ack: ServerFrameOf<'ack'>;
  presence: PresenceChange[];
  /** This user now belongs to a conversation (a new DM, a room created, joined or invited to). */
  conversation: ConversationSummary;
  /** A room's details changed (name, topic, visibility). */
  room: ServerFrameOf<'room'>['room'];
  /** Someone's membership of a room changed; `role: null` for this user means the room is gone for them. */
  member: ServerFrameOf<'member'>;
  read: ServerFrameOf<'read'>;
  /** More was missed than the server replays: reload this conversation's newest page. */
  gap: ServerFrameOf<'gap'>;
  synced: undefined;
  /** Error frames that answer no pending request. */
  error: ServerFrameOf<'error'>;
  /** A file card changed (state, bytes held); keep the card with the highest `rev`. */
  file: FileCard;
  /** Upload progress of a file (not stored; the next `file` frame has the settled count). */
  fileProgress: ServerFrameOf<'fileProgress'>;
  /**
   * The server could not store a send (its database is away): the pending sends stay pending and
   * go again, in order and with their client ids, in `retryInMs`. Emitted at each new wait.
   */
  sendsDelayed: SendsDelayed;
  /** After `sendsDelayed`: the server stored (or answered for good) a send written after the refusal. */
  sendsFlowing: undefined;
}

export interface SendsDelayed {
  reason: 'STORE_UNAVAILABLE';
  retryInMs: number;
  /** Sends waiting for their acknowledgement, the refused ones included. */
  pending: number;
}

export interface SessionOptions {
  url: string;
  createSocket: (url: string) => SocketLike;
  /** Last seq held per conversation, e.g. restored from a cache; kept up to date by the session. */
  cursors?: Record<ConversationId, number>;
  reconnect?: boolean;
  /** Backoff: first delay and cap, in ms; each wait is drawn at random up to the current bound. */
  backoffMs?: { initial: number; max: number };
  random?: () => number;
  /** How long a message that came ahead of an earlier one waits for it before history is asked (default 250 ms). */
  holeWaitMs?: number;
}

interface PendingSend {
  conv: ConversationId;
  text: string;
  clientId: string;
  resolve: (ack: ServerFrameOf<'ack'>) => void;
  reject: (error: ParleyClientError) => void;
}

type Pending = { resolve: (frame: ServerFrame) => void; reject: (error: ParleyClientError) => void };

/**
 * At most this many sends wait for their acknowledgement at once; the rest wait their turn, in
 * order. After RATE_LIMITED (or STORE_UNAVAILABLE) the window is one, until acknowledgements open
 * it again: the client follows the server's pace instead of re-sending every refused message at
 * once, which would pass the server's frame limit and be closed with 4029 (docs/PROTOCOL.md, "Limits").
 */
const SEND_WINDOW = 32;

/** The longest the session waits before sending again, whatever wait a server's refusal names. */
const MAX_SEND_PAUSE_MS = 60_000;

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set<number>([CLOSE_CODES.SESSION_ENDED, CLOSE_CODES.PROTOCOL_UNSUPPORTED]);

/**
 * A live session over WebSocket: says hello with its cursors, receives exactly what it missed,
 * then live events; reconnects with backoff and jitter; re-sends unacknowledged messages with
 * their original client ids, so a retry never duplicates (docs/PROTOCOL.md, "Connecting").
 */
export class ChatSession extends Emitter<SessionEvents> {
  private socket: SocketLike | null = null;
  /** Per conversation, the last seq held; messages pass through it in order, holes filled from history. */
  private readonly order: MessageOrder;
  private readonly sends = new Map<string, PendingSend>();
  /** Sends on the wire, not yet acknowledged or refused: client id to the number of the write that sent it. */
  private readonly inFlight = new Map<string, number>();
  /** Counts sends put on the wire, so an answer can be told from one to a send written before a refusal. */
  private sendWrites = 0;
  private sendWindow = SEND_WINDOW;
  /** Set while the server asked to wait (RATE_LIMITED, STORE_UNAVAILABLE): nothing is sent before it fires. */
  private sendPause: ReturnType<typeof setTimeout> | null = null;
  /**
   * While the server cannot store sends: the write number of the last refused send, and how many
   * waits in a row there were (the backoff grows with them). Null once a later send got through.
   */
  private storeDown: { refusedWrite: number; waits: number } | null = null;
  private readonly requests = new Map<string, Pending>();
  private nextRef = 1;
  /** Read positions not yet confirmed by the server: retried quietly while its database is away. */
  private readonly reads: ReadPositions;
  /** The highest file-card rev seen, sent in hello so changes made while away are replayed. */
  private fileRev: number | undefined;
  /** Revs seen during catch-up count only once it is complete (`synced`): live frames may overtake replayed ones. */
  private syncingFileRev: number | undefined;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  state: ConnectionState = 'closed';
  me: UserRef | null = null;

  constructor(private readonly options: SessionOptions) {
    super();
    this.order = new MessageOrder({
      holeWaitMs: options.holeWaitMs ?? 250,
      history: async (conv, before, limit) => (await this.history(conv, { before, limit })).messages,
      deliver: (message) => this.emit('message', message),
    });
    for (const [conv, seq] of Object.entries(options.cursors ?? {})) this.order.moveTo(conv, seq);
    this.reads = new ReadPositions((conv, seq) => {
      if (this.state === 'online') this.write({ type: 'read', conv, seq });
    }, options.random);
  }

  connect(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good: no reconnect; pending requests fail, unsent messages are rejected. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    // The sends waiting for the store are rejected below with the rest; a closed session delays nothing.
    this.storeDown = null;
    this.resetSends();
    this.reads.stop();
    this.socket?.close(1000, 'bye');
    this.socket = null;
    this.failAll(new ParleyClientError('DISCONNECTED', 'The session was closed.'), true);
    this.setState('closed');
  }

  cursor(conv: ConversationId): number | undefined {
    return this.order.cursor(conv);
  }

  /**
   * The caller now holds `conv` up to `seq` (e.g. it loaded the newest history page), so a
   * reconnect catches up from there. Cursors only move forward.
   */
  markHeld(conv: ConversationId, seq: number): void {
    this.order.moveTo(conv, seq);
  }

  /** While waiting to reconnect, tries again now (e.g. the browser came back online). */
  retryNow(): void {
    if (this.stopped || this.state !== 'reconnecting' || this.socket) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.open();
  }

  /**
   * Sends a message; resolves with the server's acknowledgement once it is committed. While
   * offline the message waits and goes out on reconnect, with the same client id.
   */
  send(conv: ConversationId, text: string, clientId: string = newClientId()): Promise<ServerFrameOf<'ack'>> {
    return new Promise((resolve, reject) => {
      const pending: PendingSend = { conv, text, clientId, resolve, reject };
      this.sends.set(clientId, pending);
      this.pumpSends();
    });
  }

  async history(conv: ConversationId, options: { before?: number; limit?: number } = {}) {
    const frame = await this.request({ type: 'history', conv, ...options });
    return frame as ServerFrameOf<'history'>;
  }

  /**
   * Stores the user's read position of `conv` (never moves back). Sent now when online, else once
   * the next connection is synced; while the server cannot store it, it goes again quietly
   * later, the newest position only (read-positions.ts).
   */
  markRead(conv: ConversationId, seq: number): void {
    this.reads.mark(conv, seq);
  }

  async ping(): Promise<void> {
    await this.request({ type: 'ping' });
  }

  private request(frame: Record<string, unknown>): Promise<ServerFrame> {
    if (this.state !== 'online' && this.state !== 'syncing') {
      return Promise.reject(new ParleyClientError('DISCONNECTED', 'Not connected.'));
    }
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      this.requests.set(ref, { resolve, reject });
      this.write({ ...frame, ref });
    });
  }

  private open(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = this.options.createSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      this.setState('syncing');
      this.write({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        cursors: Object.fromEntries(this.order.all()),
        ...(this.fileRev === undefined ? {} : { fileRev: this.fileRev }),
      });
    };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') this.receive(JSON.parse(event.data) as ServerFrame);
      else this.receive(JSON.parse(String(event.data)) as ServerFrame);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.resetSends();
      this.order.stop();
      this.failAll(new ParleyClientError('DISCONNECTED', 'The connection dropped.'), false);
      if (this.stopped) return;
      if (FINAL_CLOSE_CODES.has(event.code) || this.options.reconnect === false) {
        this.stopped = true;
        this.failAll(new ParleyClientError('DISCONNECTED', event.reason || 'The session ended.'), true);
        this.setState('closed', event.code, event.reason);
        return;
      }
      this.scheduleReconnect(event.code, event.reason);
    };
  }

  private scheduleReconnect(code: number, reason: string): void {
    this.setState('reconnecting', code, reason);
    const { initial, max } = this.options.backoffMs ?? { initial: 500, max: 15_000 };
    const bound = Math.min(max, initial * 2 ** this.attempt);
    this.attempt += 1;
    // Full jitter: after a server restart, clients come back spread out, not all at once.
    const delay = Math.max(50, (this.options.random ?? Math.random)() * bound);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.me = frame.me;
        this.emit('welcome', frame);
        return;
      case 'message':
        // A message that overtook an earlier one waits for it; a repeat is dropped (message-order.ts).
        this.order.receive(frame.message);
        return;
      case 'synced':
        this.attempt = 0;
        if (this.syncingFileRev !== undefined) this.noteFileRev(this.syncingFileRev);
        this.syncingFileRev = undefined;
        this.setState('online');
        this.order.retry();
        this.resetSends();
        this.pumpSends();
        this.reads.resend();
        this.emit('synced', undefined);
        return;
      case 'ack': {
        const pending = this.sends.get(frame.clientId);
        this.sends.delete(frame.clientId);
        this.noteStoreAnswered(this.inFlight.get(frame.clientId));
        this.inFlight.delete(frame.clientId);
        this.sendWindow = Math.min(SEND_WINDOW, this.sendWindow * 2);
        pending?.resolve(frame);
        this.pumpSends();
        this.emit('ack', frame);
        return;
      }
      case 'gap':
        this.order.moveTo(frame.conv, frame.lastSeq);
        this.emit('gap', frame);
        return;
      case 'presence':
        this.emit('presence', frame.changes);
        return;
      case 'conversation':
        this.emit('conversation', frame.conversation);
        return;
      case 'room':
        this.emit('room', frame.room);
        return;
      case 'member':
        if (frame.role === null && frame.user.id === this.me?.id) this.reads.forget(frame.conv);
        this.emit('member', frame);
        return;
      case 'file':
        if (this.state === 'online') this.noteFileRev(frame.file.rev);
        else this.syncingFileRev = Math.max(this.syncingFileRev ?? -1, frame.file.rev);
        this.emit('file', frame.file);
        return;
      case 'fileProgress':
        this.emit('fileProgress', frame);
        return;
      case 'read':
        this.reads.confirmed(frame.conv, frame.seq);
        this.emit('read', frame);
        return;
      case 'history':
      case 'pong':
        if (frame.ref !== undefined) this.settle(String(frame.ref), frame);
        return;
      case 'error':
        this.onError(frame);
        return;
    }
  }

  private onError(frame: ServerFrameOf<'error'>): void {
    const error = new ParleyClientError(frame.code, frame.message, undefined, frame.retryAfterMs);
    if (frame.clientId !== undefined && this.sends.has(frame.clientId)) {
      const pending = this.sends.get(frame.clientId)!;
      const write = this.inFlight.get(frame.clientId);
      this.inFlight.delete(frame.clientId);
      if (frame.code === 'RATE_LIMITED' && frame.retryAfterMs !== undefined) {
        this.sendWindow = 1;
        this.pauseSends(frame.retryAfterMs);
        return;
      }
      if (frame.code === 'STORE_UNAVAILABLE') {
        this.storeUnavailable(write, frame.retryAfterMs);
        return;
      }
      // Not stored: the server is stopping and closes with 1001 next; the send goes again after the reconnect.
      if (frame.code === 'SHUTTING_DOWN') return;
      // Refused for a reason of its own (a room left meanwhile, say): the store answered.
      if (frame.code !== 'RATE_LIMITED') this.noteStoreAnswered(write);
      this.sends.delete(frame.clientId);
      pending.reject(error);
      this.pumpSends();
      return;
    }
    if (frame.ref !== undefined && this.requests.has(String(frame.ref))) {
      const pending = this.requests.get(String(frame.ref))!;
      this.requests.delete(String(frame.ref));
      pending.reject(error);
      return;
    }
    // While syncing, the only frame the server answers with neither ref nor client id is `hello`:
    // its catch-up could not be read. This connection can never sync (a second hello is refused),
    // so it is dropped and the session reconnects with its backoff, as after any lost connection.
    if (frame.code === 'STORE_UNAVAILABLE' && frame.ref === undefined && frame.clientId === undefined && this.state === 'syncing') {
      this.socket?.close(1000, 'the server could not read the catch-up; saying hello again');
      return;
    }
    // Once online, the only frame the server answers with neither ref nor client id is `read`.
    if (frame.code === 'STORE_UNAVAILABLE' && frame.ref === undefined && frame.clientId === undefined && this.state === 'online') {
      this.reads.refused(frame.retryAfterMs);
      return;
    }
    this.emit('error', frame);
  }

  /**
   * The caller holds file cards up to this rev (e.g. from a history page); a reconnect replays
   * changes after it. Messages received through this session count by themselves.
   */
  noteFileRev(rev: number): void {
    if (rev > (this.fileRev ?? -1)) this.fileRev = rev;
  }

  private settle(ref: string, frame: ServerFrame): void {
    const pending = this.requests.get(ref);
    this.requests.delete(ref);
    pending?.resolve(frame);
  }

  /** Nothing is sent before `ms` have passed (a wait already running is kept). True when this call started the wait. */
  private pauseSends(ms: number): boolean {
    if (this.sendPause) return false;
    // The server's word, bounded: timers past 2^31 ms fire at once, and no limit of Parley asks for more than a minute.
    const wait = Number.isFinite(ms) ? Math.min(MAX_SEND_PAUSE_MS, Math.max(0, ms)) : MAX_SEND_PAUSE_MS;
    this.sendPause = setTimeout(() => {
      this.sendPause = null;
      this.pumpSends();
    }, wait);
    return true;
  }

  /**
   * The server could not store this send (nothing was stored). It stays pending, in its place,
   * with its client id. One send at a time goes out after the wait, the oldest first, so the
   * user's messages are stored in the order written once the database is back, and a long outage
   * costs the server one refused send per wait, not the whole queue. The waits grow while the
   * database stays away (store-retry.ts). There is no limit: like a message written offline, it
   * waits until it is stored or the session is closed.
   */
  private storeUnavailable(write: number | undefined, retryAfterMs: number | undefined): void {
    this.sendWindow = 1;
    const down = (this.storeDown ??= { refusedWrite: 0, waits: 0 });
    down.refusedWrite = Math.max(down.refusedWrite, write ?? 0);
    const wait = storeRetryDelay(retryAfterMs, down.waits, this.options.random);
    // Sends refused together (those that were on the wire at once) share one wait.
    if (!this.pauseSends(wait)) return;
    down.waits += 1;
    this.emit('sendsDelayed', { reason: 'STORE_UNAVAILABLE', retryInMs: wait, pending: this.sends.size });
  }

  /**
   * A send was answered by the store (acknowledged, or refused for a reason of its own). If it
   * was written after the last STORE_UNAVAILABLE refusal, the database is back: say so once.
   * An answer to a send written earlier proves nothing (it may have been committed before the outage).
   */
  private noteStoreAnswered(write: number | undefined): void {
    if (!this.storeDown || write === undefined || write <= this.storeDown.refusedWrite) return;
    this.storeDown = null;
    this.emit('sendsFlowing', undefined);
  }

  /** Puts waiting sends on the wire, oldest first, as far as the window allows. */
  private pumpSends(): void {
    if (this.state !== 'online' || this.sendPause) return;
    for (const pending of this.sends.values()) {
      if (this.inFlight.size >= this.sendWindow) return;
      if (this.inFlight.has(pending.clientId)) continue;
      this.inFlight.set(pending.clientId, ++this.sendWrites);
      this.write({ type: 'send', conv: pending.conv, clientId: pending.clientId, text: pending.text });
    }
  }

  /**
   * A new connection (or none): nothing is on the wire, the window is whole again, unless the
   * store was away when the last one ended: then the oldest send goes alone first, to find out.
   */
  private resetSends(): void {
    this.inFlight.clear();
    this.sendWindow = this.storeDown ? 1 : SEND_WINDOW;
    if (this.sendPause) clearTimeout(this.sendPause);
    this.sendPause = null;
  }

  private write(frame: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(frame));
  }

  /** Requests always fail on disconnect; sends only when the session is over (else they are re-sent). */
  private failAll(error: ParleyClientError, includingSends: boolean): void {
    for (const pending of this.requests.values()) pending.reject(error);
    this.requests.clear();
    if (!includingSends) return;
    for (const pending of this.sends.values()) pending.reject(error);
    this.sends.clear();
  }

  private setState(state: ConnectionState, closeCode?: number, reason?: string): void {
    this.state = state;
    this.emit('state', { state, ...(closeCode === undefined ? {} : { closeCode }), ...(reason ? { reason } : {}) });
  }
}

export function newClientId(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}

export type { ErrorCode };
