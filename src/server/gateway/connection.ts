import type { WebSocket } from 'ws';
import {
  CLOSE_CODES,
  ERRORS,
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
  MAX_FRAME_BYTES,
  MAX_TEXT_CODE_POINTS,
  SUPPORTED_PROTOCOLS,
  WORLD,
  type ClientFrame,
  type ConversationId,
  type HelloFrame,
  type Message,
  type ServerFrame,
  type UserRef,
} from '../../protocol/index.ts';
import type { Chat } from '../chat/chat.ts';
import { ParleyError } from '../errors.ts';
import type { Hub, Recipient } from './hub.ts';
import { Outbox, preparePong, type PreparedFrame } from './outbox.ts';
import { parseClientFrame } from './parse-frame.ts';
import { TokenBucket } from '../../lib/token-bucket.ts';
import type { Clock } from '../clock.ts';

export interface ConnectionLimits {
  maxQueuedBytes: number;
  helloTimeoutMs: number;
  maxFileBytes: number;
  /** Frames of any kind (text, binary, ping, pong) a client may send: sustained per second, and at once. */
  frameRatePerSecond: number;
  frameBurst: number;
  /** File cards read and sent per step of the file catch-up (smaller in tests). */
  fileCatchUpBatch?: number;
  /** Told when a connection is closed as too slow (for the metrics). */
  onSlowClientCut?: () => void;
}

/** File cards per step of the file catch-up: one bounded read, then the socket drains. */
const FILE_CATCH_UP_BATCH = 1000;

/**
 * How long a closing peer gets to answer the close handshake before the socket is cut. If the
 * close frame itself has not left by then (the peer reads nothing at all), the socket is kept
 * until it does or ws's own close timeout (30 s) ends it: a peer that reads again meanwhile still
 * gets the close code (docs/PROTOCOL.md, "Slow clients").
 */
const CLOSE_GRACE_MS = 5000;

type State = 'awaiting-hello' | 'syncing' | 'live' | 'closed';

/**
 * One WebSocket session of an authenticated user: hello and catch-up, then live events and
 * requests. While catching up, live messages are held back and replayed after, so the client
 * sees every message exactly once and in order (docs/PROTOCOL.md, "Connecting").
 */
export class Connection implements Recipient {
  alive = true;
  /** Protocol 2 added rooms: an older client hears nothing of them (docs/PROTOCOL.md, "Versions"). */
  speaksRooms = false;
  private state: State = 'awaiting-hello';
  private readonly outbox: Outbox;
  /** Live events that came while catching up, in order; sent once catch-up is done. */
  private heldBack: { message?: Message; frame: PreparedFrame }[] = [];
  /** Held back while catching up counts against the send queue's bound like what is queued. */
  private heldBackBytes = 0;
  /**
   * Per conversation, the highest seq this connection was sent or holds (its cursor): a message at
   * or below it is a repeat, never sent (docs/PROTOCOL.md, "Connecting", step 6). Kept for the
   * connection's life, not only while catching up: the node's OrderedDelivery is one for all its
   * connections and cannot know what each one's catch-up sent, so a message its catch-up read may
   * still come live after `synced` (published after the read; or read again from storage when the
   * node starts a conversation afresh, from the earliest hello here less the clock skew).
   * The world's is a field of its own, so its fan-out to every connection costs no Map lookup.
   */
  private readonly sentUpTo = new Map<ConversationId, number>();
  private worldSentUpTo = 0;
  private readonly cancelHelloTimeout: () => void;
  /** Frames read and still being handled (a send waits for its commit, then acknowledges). */
  private readonly handling = new Set<Promise<void>>();
  private shuttingDown = false;
  /** A close frame was sent (or is queued to be): nothing more is read or written. */
  private closing = false;
  private readonly frameLimiter: TokenBucket;

  constructor(
    readonly ws: WebSocket,
    readonly user: UserRef,
    /** Hex SHA-256 of the session token, so logout can close exactly this session's sockets. */
    readonly sessionKey: string,
    private readonly chat: Chat,
    private readonly hub: Hub,
    private readonly limits: ConnectionLimits,
    private readonly clock: Clock,
  ) {
    this.outbox = new Outbox(ws, limits.maxQueuedBytes, () => this.cutTooSlow());
    this.frameLimiter = new TokenBucket(limits.frameRatePerSecond, limits.frameBurst, () => clock.now());
    this.cancelHelloTimeout = clock.after(limits.helloTimeoutMs, () => this.close(CLOSE_CODES.HELLO_TIMEOUT, 'no hello'));
    ws.on('message', (data, isBinary) => {
      if (!this.admit()) return;
      this.alive = true;
      // Never rejects: an error that escaped would be a rejection nobody handles, and end the process.
      const handled = this.receive(isBinary ? null : data.toString()).catch((error: unknown) => {
        this.hub.log.error({ err: error, user: this.user.id }, 'frame handling failed');
      });
      this.handling.add(handled);
      void handled.finally(() => this.handling.delete(handled));
    });
    // Pings are answered here, not by ws (autoPong is off, gateway.ts): counted like every other
    // frame, and queued with them, so a flood of them is bounded like any other backlog.
    ws.on('ping', (data) => this.admit() && this.outbox.write(preparePong(data)));
    ws.on('pong', () => this.admit() && (this.alive = true));
    ws.on('close', () => this.closed());
    // ws has already sent the close frame its error calls for (1002, 1007, 1009): let it leave.
    ws.on('error', () => this.close(CLOSE_CODES.GOING_AWAY, 'protocol error', 'drop'));
  }

  /** Bytes waiting to be sent on this connection (its queue and the socket's buffer). */
  get queuedBytes(): number {
    return this.outbox.unsentBytes;
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  /** A committed message for this user; `frame` is the shared, pre-framed `message` frame. */
  deliver(message: Message, frame: PreparedFrame): void {
    if (this.state === 'live') {
      if (this.beyondSent(message)) this.outbox.write(frame);
    } else if (this.state === 'syncing') this.holdBack({ message, frame });
  }

  /** Whether `message` is beyond what was sent of its conversation; if so it counts as sent from now on. */
  private beyondSent(message: Message): boolean {
    if (message.conv === WORLD) {
      if (message.seq <= this.worldSentUpTo) return false;
      this.worldSentUpTo = message.seq;
      return true;
    }
    const upTo = this.sentUpTo.get(message.conv);
    if (upTo !== undefined && message.seq <= upTo) return false;
    this.sentUpTo.set(message.conv, message.seq);
    return true;
  }

  private holdBack(held: { message?: Message; frame: PreparedFrame }): void {
    this.heldBack.push(held);
    for (const buffer of held.frame) this.heldBackBytes += buffer.length;
    if (this.heldBackBytes > this.limits.maxQueuedBytes) this.cutTooSlow();
  }

  /**
   * Any other pre-framed event (presence, new conversation, read position). Held back while
   * catching up like messages, so that what was missed comes first and live events after it.
   */
  deliverEvent(frame: PreparedFrame): void {
    if (this.state === 'live') this.outbox.write(frame);
    else if (this.state === 'syncing') this.holdBack({ frame });
  }

  /**
   * Shutdown, first step: frames read from now on are refused with SHUTTING_DOWN (nothing is
   * stored, and the client sends them again after reconnecting); resolves once every frame read
   * before has been handled, so a send committed in the last batch has its ack queued on the
   * socket before the close frame.
   */
  async finishHandling(): Promise<void> {
    this.shuttingDown = true;
    while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
  }

  /**
   * Closes with `code`. What is queued is sent first (`flush`: acknowledgements before a shutdown,
   * the error frame before a protocol refusal) or dropped (`drop`: a peer too slow or flooding,
   * whose close frame should not wait behind what it will never read; it catches up on reconnect).
   */
  close(code: number, reason: string, queued: 'flush' | 'drop' = 'flush'): void {
    if (this.state === 'closed' || this.closing) return;
    this.closing = true;
    this.outbox.stop(queued);
    this.leaveHub();
    this.ws.close(code, reason);
    this.clock.after(CLOSE_GRACE_MS, () => {
      if (this.outbox.unsentBytes === 0) this.ws.terminate();
    });
  }

  /** Closes with 4008, told to the metrics once per connection. */
  private cutTooSlow(): void {
    if (this.state === 'closed' || this.closing) return;
    this.limits.onSlowClientCut?.();
    this.close(CLOSE_CODES.TOO_SLOW, 'send queue overflow: reconnect to catch up', 'drop');
  }

  /** Counts a frame the client sent; past the frame limit the connection is closed with 4029. */
  private admit(): boolean {
    if (this.closing || this.state === 'closed') return false;
    if (this.frameLimiter.take() === 0) return true;
    this.close(CLOSE_CODES.TOO_MANY_FRAMES, 'too many frames: slow down', 'drop');
    return false;
  }

  private send(frame: ServerFrame): void {
    this.outbox.send(frame);
  }

  private async receive(text: string | null): Promise<void> {
    if (this.state === 'closed' || this.closing) return;
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.send({ type: 'error', code: parsed.code, message: parsed.message, ...parsed.ids });
      return;
    }
    const frame = parsed.frame;
    try {
      if (this.shuttingDown && frame.type !== 'ping') throw new ParleyError('SHUTTING_DOWN');
      await this.handle(frame);
    } catch (error) {
      const ids = 'ref' in frame && frame.ref !== undefined ? { ref: frame.ref } : frame.type === 'send' ? { clientId: frame.clientId } : {};
      if (error instanceof ParleyError) {
        this.send({ type: 'error', code: error.code, message: error.message, ...ids, ...retryAfter(error.retryAfterMs) });
      } else {
        this.hub.log.error({ err: error, user: this.user.id, frame: frame.type }, 'frame handling failed');
        this.send({ type: 'error', code: 'INTERNAL', message: ERRORS.INTERNAL.message, ...ids });
      }
    }
  }

  private async handle(frame: ClientFrame): Promise<void> {
    if (frame.type === 'hello') return this.hello(frame);
    if (this.state === 'awaiting-hello') throw new ParleyError('HELLO_REQUIRED');
    switch (frame.type) {
      case 'send': {
        const ack = await this.chat.send(this.user, frame.conv, frame.clientId, frame.text);
        this.send({ type: 'ack', ...ack });
        return;
      }
      case 'history': {
        const page = await this.chat.history(this.user, frame.conv, frame.limit ?? HISTORY_PAGE_DEFAULT, frame.before);
        this.send({ type: 'history', ref: frame.ref, conv: frame.conv, ...page });
        return;
      }
      case 'read':
        return this.chat.markRead(this.user, frame.conv, frame.seq);
      case 'ping':
        this.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref });
        return;
    }
  }

  private async hello(frame: HelloFrame): Promise<void> {
    if (this.state !== 'awaiting-hello') throw new ParleyError('ALREADY_GREETED');
    this.cancelHelloTimeout();
    if (!SUPPORTED_PROTOCOLS.includes(frame.protocol)) {
      this.send({ type: 'error', code: 'PROTOCOL_UNSUPPORTED', message: `This server speaks protocol ${SUPPORTED_PROTOCOLS.join(' and ')}.` });
      this.close(CLOSE_CODES.PROTOCOL_UNSUPPORTED, 'protocol version unsupported');
      return;
    }
    // Join the fan-out before reading what was missed: anything committed from here on is
    // either in the catch-up read or held back, and the two are de-duplicated by seq below. In a
    // cluster the join resolves once this node hears the user's events (bus.ts, Hearing).
    this.speaksRooms = frame.protocol >= 2;
    this.state = 'syncing';
    await this.hub.join(this);
    if (this.state !== 'syncing') return;
    const all = await this.chat.conversationsOf(this.user);
    if (this.state !== 'syncing') return;
    const conversations = this.speaksRooms ? all : all.filter((summary) => summary.kind !== 'room');
    const welcome = {
      type: 'welcome',
      protocol: frame.protocol,
      me: this.user,
      online: [],
      conversations,
      limits: { maxTextCodePoints: MAX_TEXT_CODE_POINTS, maxFrameBytes: MAX_FRAME_BYTES, historyPageMax: HISTORY_PAGE_MAX, maxFileBytes: this.limits.maxFileBytes },
    } satisfies ServerFrame;
    // The online list (thousands of users on a busy server) is spliced in already serialised
    // (Hub.onlineUsersJson): serialising it per connection made a reconnecting crowd O(n²).
    // `"online":[]` occurs only as that key: inside a JSON string every quote is escaped.
    this.outbox.sendJson(JSON.stringify(welcome).replace('"online":[]', `"online":${this.hub.onlineUsersJson()}`));
    // What was missed comes from the domain, which checks membership; held-back live messages
    // at or below what it sent are dropped below, and later ones once live, so each message goes out once.
    const missed = this.chat.catchUp(this.user, frame.cursors ?? {}, frame.fileRev, {
      rooms: this.speaksRooms,
      fileBatch: this.limits.fileCatchUpBatch ?? FILE_CATCH_UP_BATCH,
    });
    for await (const item of missed) {
      if (this.state !== 'syncing') return;
      if (item.type === 'messages' || item.type === 'files') {
        const frames: ServerFrame[] =
          item.type === 'messages' ? item.messages.map((message) => ({ type: 'message', message })) : item.files.map((file) => ({ type: 'file', file }));
        for (const frame of frames) {
          this.send(frame);
          // Up to 1,000 messages of up to 16 KB: written at once they could pass the send queue's
          // bound, and a client that merely catches up would be closed as too slow, again and again.
          if (this.outbox.backlogged) {
            await this.outbox.drained();
            if (this.state !== 'syncing') return;
          }
        }
      } else if (item.type === 'gap') this.send({ type: 'gap', conv: item.conv, lastSeq: item.lastSeq });
      else if (item.type === 'caughtUp') {
        if (item.conv === WORLD) this.worldSentUpTo = item.upTo;
        else this.sentUpTo.set(item.conv, item.upTo);
      }
      // Let a batch leave before the next is read, so the send queue stays within its bound.
      else await this.outbox.drained();
    }
    await this.outbox.drained();
    if (this.state !== 'syncing') return;
    for (const { message, frame: prepared } of this.heldBack) {
      if (!message || this.beyondSent(message)) this.outbox.write(prepared);
    }
    this.heldBack = [];
    this.heldBackBytes = 0;
    this.state = 'live';
    this.send({ type: 'synced' });
  }

  private closed(): void {
    this.leaveHub();
    this.state = 'closed';
    this.heldBack = [];
    this.heldBackBytes = 0;
    this.cancelHelloTimeout();
    this.hub.forget(this);
  }

  /** Stops receiving events and counting as online, once: when closing starts, or when the socket closes. */
  private leaveHub(): void {
    if (this.state !== 'syncing' && this.state !== 'live') return;
    this.state = 'closed';
    this.hub.leave(this);
  }
}

function retryAfter(ms: number | undefined): { retryAfterMs?: number } {
  return ms === undefined ? {} : { retryAfterMs: ms };
}
