import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import type { WebSocket } from 'ws';
import type { ServerFrame } from '../../protocol/index.ts';

/** A server frame already serialised and framed for the wire: built once, written to many sockets. */
export type PreparedFrame = readonly Buffer[];

/** ws's frame encoder; public at run time, missing from @types/ws. */
interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

/** What the queue hands the socket per drain: all a slow peer's close frame waits behind. */
const SOCKET_SHARE = 64 * 1024;

const TEXT = 0x01;
const PONG = 0x0a;

export function prepareFrame(frame: ServerFrame): PreparedFrame {
  return prepareJson(JSON.stringify(frame));
}

/**
 * A frame from JSON text the caller built itself (it must be a serialised ServerFrame).
 * Header and payload are joined into one buffer, once: a broadcast then costs one
 * `socket.write` per recipient instead of two, about 30 % less CPU per delivery when many
 * frames leave in one turn (bench: fanout, docs/PERFORMANCE.md).
 */
export function prepareJson(json: string): PreparedFrame {
  return framed(Buffer.from(json), TEXT);
}

/** The answer to a client's ping: a pong with the same application data (RFC 6455, 5.5.3). */
export function preparePong(data: Buffer): PreparedFrame {
  return framed(data, PONG);
}

function framed(payload: Buffer, opcode: number): PreparedFrame {
  const parts = Sender.frame(payload, { fin: true, opcode, mask: false, readOnly: true, rsv1: false });
  return parts.length === 1 ? parts : [Buffer.concat(parts)];
}

/** Sockets corked during this turn of the event loop, uncorked together at its end. */
let corked: Socket[] = [];
function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/**
 * A connection's bounded send queue. Frames are written straight to the socket (permessage-
 * deflate is off, so ws's own sender never queues and order is kept); writes within one turn are
 * coalesced by cork/uncork into one syscall.
 *
 * Once the socket holds 64 KiB unsent (the kernel's buffers in between, several megabytes, are
 * full because the peer is not reading, or a burst is larger than that), further frames wait
 * here, in this connection's own queue, and go on as the socket drains. That queue is what
 * `maxQueuedBytes` bounds: when it still holds more than that once the socket has taken what it
 * could, the peer is not keeping up and `onOverflow` closes it. Because the backlog is here and
 * not in the socket, a closing connection can drop it, so that its close frame waits behind at
 * most 64 KiB instead of the whole backlog, and reaches a peer as soon as it reads again
 * (docs/PROTOCOL.md, "Slow clients").
 */
export class Outbox {
  private readonly socket: Socket;
  private corked = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Writing stopped: the queue overflowed, or the connection is closing. */
  private stopped = false;
  private drainWaiters: (() => void)[] = [];
  private backlogCheck = false;

  constructor(
    ws: WebSocket,
    private readonly maxQueuedBytes: number,
    private readonly onOverflow: () => void,
  ) {
    // ws keeps its socket private; writing pre-framed bytes to it is what lets one broadcast be
    // serialised and framed once instead of once per recipient (docs/ARCHITECTURE.md).
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    this.socket.on('drain', () => this.flushQueue());
    this.socket.once('close', () => this.wakeDrainWaiters());
  }

  write(frame: PreparedFrame): void {
    if (this.stopped || this.socket.destroyed) return;
    // Up to one share per turn goes straight into the socket (one writev when the turn ends); a
    // socket holding that much has passed its high-water mark, so a 'drain' will follow.
    if (this.queue.length > 0 || this.socket.writableLength >= SOCKET_SHARE) {
      for (const buffer of frame) {
        this.queue.push(buffer);
        this.queuedBytes += buffer.length;
      }
      this.checkBacklogSoon();
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      if (corked.length === 0) process.nextTick(uncorkAll);
      corked.push(this.socket);
      queueMicrotask(() => (this.corked = false));
    }
    for (const buffer of frame) this.socket.write(buffer);
  }

  send(frame: ServerFrame): void {
    this.write(prepareFrame(frame));
  }

  sendJson(json: string): void {
    this.write(prepareJson(json));
  }

  /**
   * The connection is closing: nothing more is written after what is queued, which is first
   * handed to the socket (`flush`, e.g. the acknowledgements of a shutdown) or dropped (a peer
   * that is too slow or misbehaves: its close frame should not wait behind megabytes it will
   * never read).
   */
  stop(queued: 'flush' | 'drop'): void {
    if (queued === 'drop') this.dropQueue();
    else if (this.queue.length > 0 && !this.socket.destroyed) {
      this.socket.cork();
      for (const buffer of this.queue.splice(0)) this.socket.write(buffer);
      this.socket.uncork();
      this.queuedBytes = 0;
    }
    this.stopped = true;
    // A catch-up waiting for the queue to drain must not wait for a socket that may never drain.
    this.wakeDrainWaiters();
  }

  /** Bytes not yet handed to the socket, plus what the socket has not yet handed to the kernel. */
  get unsentBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** More than half the bound is queued: a sender of a long burst (a catch-up) should wait for `drained()`. */
  get backlogged(): boolean {
    return this.queuedBytes > this.maxQueuedBytes / 2;
  }

  /** Resolves once this turn's writes have left and at most half the bound is still queued (or writing stopped, or the socket is gone). */
  async drained(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!this.stopped && !this.socket.destroyed && this.queuedBytes > this.maxQueuedBytes / 2) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /**
   * The socket drained: hand it up to SOCKET_SHARE of queued frames in one syscall. When the
   * kernel takes them at once, the next 'drain' follows within the same turn, so a backlog a fast
   * peer can take leaves at once; a slow peer holds at most that much in the socket.
   */
  private flushQueue(): void {
    if (this.queue.length > 0 && !this.socket.destroyed) {
      this.socket.cork();
      let sent = 0;
      while (sent < this.queue.length && this.socket.writableLength < SOCKET_SHARE) {
        const buffer = this.queue[sent++]!;
        this.queuedBytes -= buffer.length;
        this.socket.write(buffer);
      }
      this.queue.splice(0, sent);
      this.socket.uncork();
    }
    this.wakeDrainWaiters();
  }

  /**
   * Judges the backlog once the socket has taken what it can: a 'drain' that follows a write the
   * kernel took at once comes before the loop's next phase, so what is still queued then is what
   * the peer has not read. Only that counts against the bound, never a burst a fast peer takes.
   */
  private checkBacklogSoon(): void {
    if (this.backlogCheck) return;
    this.backlogCheck = true;
    setImmediate(() => {
      this.backlogCheck = false;
      if (this.stopped || this.queuedBytes <= this.maxQueuedBytes) return;
      this.stopped = true;
      this.dropQueue();
      this.wakeDrainWaiters();
      this.onOverflow();
    });
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
