import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A deliberately lean WebSocket client for load generation: a plain TCP socket, a hand-written
 * upgrade request, and a frame parser that only walks headers. A "counting" client looks at the
 * first bytes of each payload (enough to tell a chat message from an ack or presence frame,
 * where they lie in the read buffer) and never copies or parses the rest, so one generator core can absorb millions of frames a
 * second; a "full" client collects whole payloads for the caller to parse (the latency sample).
 * Pings are answered, so idle connections survive a server's heartbeat.
 */

/** How many leading payload bytes a counting client keeps. */
export const HEAD_BYTES = 16;

export interface RawClientOptions {
  port: number;
  path: string;
  headers?: Record<string, string>;
  /** Collect whole text payloads and hand them to onPayload. */
  full: boolean;
  localAddress?: string;
  classify?: Classifier;
}

/** What a data frame is, told from its first bytes by the protocol's dialect ('message', 'ack', ...). */
export type Classifier = (buffer: Buffer, offset: number, length: number) => string;
export type FrameHandler = (kind: string, payload: Buffer | null) => void;

/** Every client reads into this; a read is fully consumed before the next one. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export class RawClient {
  readonly socket: Socket;
  open = false;
  closed = false;
  /** Text frames received (any type). */
  frames = 0;
  bytesIn = 0;
  onFrame: FrameHandler = () => {};
  classify: Classifier = () => 'other';
  onClose: () => void = () => {};

  // Parser state. Frames may be split anywhere across TCP chunks.
  private header = Buffer.alloc(14);
  private headerHave = 0;
  private headerNeed = 2;
  private opcode = 0;
  private remaining = 0;
  private length = 0;
  private head = Buffer.alloc(HEAD_BYTES);
  private headHave = 0;
  private kind: string | null = null;
  private parts: Buffer[] = [];
  private readonly keepWhole: boolean;
  private handshake: Buffer | null = Buffer.alloc(0);

  private constructor(
    options: RawClientOptions,
    private readonly resolveOpen: (client: RawClient) => void,
    private readonly rejectOpen: (error: Error) => void,
  ) {
    this.keepWhole = options.full;
    if (options.classify) this.classify = options.classify;
    // `onread` reads into one shared buffer and calls back directly, skipping the stream
    // machinery ('data' events, a fresh Buffer per read): most of a generator's cost otherwise.
    this.socket = connect({
      host: '127.0.0.1',
      port: options.port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      onread: { buffer: READ_BUFFER, callback: (n: number, buffer: Uint8Array) => (this.receive(buffer as Buffer, n), true) },
    });
    this.socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const extra = Object.entries(options.headers ?? {})
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    this.socket.on('error', (error) => {
      if (!this.open) this.rejectOpen(error);
    });
    this.socket.on('close', () => {
      const wasOpen = this.open;
      this.closed = true;
      this.open = false;
      if (!wasOpen) this.rejectOpen(new Error('connection closed during the handshake'));
      this.onClose();
    });
  }

  static connect(options: RawClientOptions): Promise<RawClient> {
    return new Promise((resolve, reject) => new RawClient(options, resolve, reject));
  }

  /** Sends one text frame. Client frames must be masked; an all-zero key is a valid mask and leaves the bytes as they are. */
  sendText(text: string): void {
    this.socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(buffer: Buffer, n: number): void {
    this.bytesIn += n;
    let chunk = buffer.subarray(0, n);
    if (this.handshake) {
      // The read buffer is shared and reused: keep a copy of anything held across reads.
      const all = Buffer.concat([this.handshake, chunk]);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        this.handshake = all;
        return;
      }
      const status = all.toString('latin1', 0, all.indexOf('\r\n'));
      this.handshake = null;
      if (!/^HTTP\/1\.1 101/.test(status)) {
        this.rejectOpen(new Error(`upgrade refused: ${status}`));
        this.socket.destroy();
        return;
      }
      this.open = true;
      this.resolveOpen(this);
      chunk = all.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.remaining === 0 && this.headerNeed > 0) {
        if (this.headerHave === 0 && end - at >= 2) {
          // Fast path: the whole header is in this read.
          const len7 = chunk[at + 1]! & 0x7f;
          const size = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
          if (end - at >= size) {
            const length = len7 === 126 ? chunk.readUInt16BE(at + 2) : len7 === 127 ? Number(chunk.readBigUInt64BE(at + 2)) : len7;
            this.startFrame(chunk[at]! & 0x0f, length);
            at += size;
            if (length === 0) this.finishFrame();
            continue;
          }
        }
        // Slow path: a header split across reads, gathered byte by byte.
        while (this.headerHave < this.headerNeed && at < end) this.header[this.headerHave++] = chunk[at++]!;
        if (this.headerHave < this.headerNeed) return;
        const len7 = this.header[1]! & 0x7f;
        const size = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (this.headerNeed < size) {
          this.headerNeed = size;
          continue;
        }
        const length = len7 === 126 ? this.header.readUInt16BE(2) : len7 === 127 ? Number(this.header.readBigUInt64BE(2)) : len7;
        this.startFrame(this.header[0]! & 0x0f, length);
        if (length === 0) {
          this.finishFrame();
          continue;
        }
      }
      // Payload bytes.
      const take = Math.min(this.remaining, end - at);
      if (this.kind === null) {
        // Classify from the first bytes: straight from this read when they are all here.
        const need = Math.min(HEAD_BYTES, this.length);
        if (this.headHave === 0 && take >= need) {
          this.kind = this.classify(chunk, at, this.length);
        } else {
          const copy = Math.min(need - this.headHave, take);
          chunk.copy(this.head, this.headHave, at, at + copy);
          this.headHave += copy;
          if (this.headHave === need) this.kind = this.classify(this.head, 0, this.length);
        }
      }
      if (this.keepWhole || this.opcode !== OP_TEXT) this.parts.push(Buffer.from(chunk.subarray(at, at + take)));
      at += take;
      this.remaining -= take;
      if (this.remaining === 0) this.finishFrame();
    }
  }

  private startFrame(opcode: number, length: number): void {
    this.opcode = opcode;
    this.length = length;
    this.remaining = length;
    this.headerHave = 0;
    this.headerNeed = 0;
    this.headHave = 0;
    // Only data frames are classified; control frames are handled here.
    this.kind = opcode === OP_TEXT || opcode === 0x2 ? null : 'control';
  }

  private finishFrame(): void {
    const opcode = this.opcode;
    const payload = this.parts.length === 0 ? null : this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.headerNeed = 2;
    if (opcode === OP_TEXT || opcode === 0x2) {
      this.frames++;
      this.onFrame(this.kind ?? this.classify(this.head, 0, this.length), opcode === OP_TEXT && this.keepWhole ? payload : null);
    } else if (opcode === OP_PING) {
      this.socket.write(clientFrame(OP_PONG, payload ?? Buffer.alloc(0)));
    } else if (opcode === OP_CLOSE) {
      this.socket.end(clientFrame(OP_CLOSE, payload ? payload.subarray(0, 2) : Buffer.alloc(0)));
    }
  }
}

/** A masked client frame with an all-zero masking key. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.fill(0, headerLength - 4, headerLength);
  payload.copy(frame, headerLength);
  return frame;
}
