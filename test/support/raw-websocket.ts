import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OPCODES = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One client frame as the wire carries it: FIN set, masked (RFC 6455, 5.2). */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const masked = options.mask ?? true;
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (data.length < 126) header = Buffer.from([first, maskBit | data.length]);
  else if (data.length < 65536) header = Buffer.from([first, maskBit | 126, data.length >> 8, data.length & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!masked) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  const body = Buffer.from(data.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([header, key, body]);
}

export const textFrame = (value: unknown) => clientFrame(OPCODES.text, JSON.stringify(value));

export interface ServerWireFrame {
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client on a bare TCP socket: the test writes exactly the bytes it wants (many
 * frames in one write, broken frames) and sees exactly what the server wrote, including whether
 * a close frame came before the TCP connection ended.
 */
export class RawWebSocket {
  readonly frames: ServerWireFrame[] = [];
  /** Every byte received after the handshake. */
  receivedBytes = 0;
  /** Resolves when the TCP connection ends, however it ends. */
  readonly ended: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    this.ended = new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.on('error', () => {});
    });
  }

  static async open(port: number, token: string): Promise<RawWebSocket> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    let head = Buffer.alloc(0);
    const rest = await new Promise<Buffer>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${status}`));
        else resolve(head.subarray(end + 4));
      };
      socket.on('data', onData);
    });
    const raw = new RawWebSocket(socket);
    raw.take(rest);
    socket.on('data', (chunk: Buffer) => raw.take(chunk));
    return raw;
  }

  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The JSON of every text frame received so far. */
  texts(): { type: string; [key: string]: unknown }[] {
    return this.frames.filter((frame) => frame.opcode === OPCODES.text).map((frame) => JSON.parse(frame.payload.toString()));
  }

  count(opcode: number): number {
    return this.frames.filter((frame) => frame.opcode === opcode).length;
  }

  /** The status code of the server's close frame, or null when none came. */
  closeCode(): number | null {
    const close = this.frames.find((frame) => frame.opcode === OPCODES.close);
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
  }

  /** Frames after the close frame: RFC 6455 allows none. */
  framesAfterClose(): number {
    const index = this.frames.findIndex((frame) => frame.opcode === OPCODES.close);
    return index < 0 ? 0 : this.frames.length - index - 1;
  }

  private take(chunk: Buffer): void {
    this.receivedBytes += chunk.length;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      this.frames.push({ opcode: this.buffer[0]! & 0x0f, payload: this.buffer.subarray(offset, offset + length) });
      this.buffer = this.buffer.subarray(offset + length);
    }
  }
}
