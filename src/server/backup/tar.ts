/**
 * Just enough tar (POSIX ustar) for Parley's backups: regular files, written as a stream of
 * buffers and read back from one. A backup is an ordinary `.tar.gz` that `tar -tzf` lists.
 *
 * Written here rather than taken from a package because a backup needs two things a general
 * tar library does not promise: a file is read up to the size it had when the backup looked at
 * it (an upload may be growing it meanwhile), and a restore accepts only the names it expects.
 */
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const BLOCK = 512;
/** The largest size the 11 octal digits of a ustar header hold; larger sizes use base-256. */
const OCTAL_SIZE_LIMIT = 8 ** 11;

export class TarFormatError extends Error {}

export interface TarEntryHeader {
  name: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

function writeString(block: Buffer, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > length) throw new TarFormatError(`name too long for a tar header: ${text}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(entry: TarEntryHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, entry.name);
  writeOctal(block, 100, 8, entry.mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  if (entry.size < OCTAL_SIZE_LIMIT) writeOctal(block, 124, 12, entry.size);
  else {
    // GNU base-256: the high bit of the first byte set, then the size big-endian.
    block[124] = 0x80;
    block.writeBigUInt64BE(BigInt(entry.size), 124 + 4);
  }
  writeOctal(block, 136, 12, Math.floor(entry.mtimeMs / 1000));
  block.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  block[156] = 0x30; // '0': a regular file
  block.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A file held in memory as one tar entry. */
export function* tarBuffer(name: string, data: Buffer, mode = 0o600): Generator<Buffer> {
  yield tarHeader({ name, size: data.length, mode, mtimeMs: Date.now() });
  yield data;
  yield padding(data.length);
}

/**
 * The first `size` bytes of a file on disk as one tar entry; fails if it holds fewer. `hash`,
 * when given, is fed the entry's bytes (not its header or padding).
 */
export async function* tarFile(name: string, path: string, size: number, mode: number, mtimeMs: number, hash?: Hash): AsyncGenerator<Buffer> {
  yield tarHeader({ name, size, mode, mtimeMs });
  let read = 0;
  if (size > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: 256 * 1024 })) {
      read += (chunk as Buffer).length;
      hash?.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
  if (read !== size) throw new TarFormatError(`${path} shrank while it was read (${read} of ${size} bytes)`);
  yield padding(size);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    if (this.buffered < wanted) throw new TarFormatError('the archive ends in the middle of an entry');
  }

  async take(length: number): Promise<Buffer> {
    await this.fill(length);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > length ? [all.subarray(length)] : [];
    this.buffered -= length;
    return all.subarray(0, length);
  }

  /** The next `length` bytes as they arrive, without holding them all. */
  async *stream(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      await this.fill(1);
      const head = this.chunks.shift()!;
      const part = head.length > left ? head.subarray(0, left) : head;
      if (head.length > left) this.chunks.unshift(head.subarray(left));
      this.buffered -= part.length;
      left -= part.length;
      yield part;
    }
  }
}

function readOctal(block: Buffer, offset: number, length: number): number {
  if (block[offset]! & 0x80) return Number(block.readBigUInt64BE(offset + length - 8));
  const text = block.toString('ascii', offset, offset + length).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError('not a tar archive (a header field is not a number)');
  return text === '' ? 0 : parseInt(text, 8);
}

export interface TarEntry extends TarEntryHeader {
  /** '0' for a regular file; anything else is refused by the caller. */
  type: string;
  /** The entry's bytes; read it to the end before asking for the next entry. */
  body: AsyncIterable<Buffer>;
}

/** The entries of a tar stream, one at a time, with their checksums checked. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  for (;;) {
    const block = await reader.take(BLOCK);
    if (block.every((byte) => byte === 0)) return;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (readOctal(block, 148, 8) !== sum) throw new TarFormatError('not a tar archive, or a damaged one (a header checksum does not match)');
    const nameEnd = block.indexOf(0, 0);
    const name = block.toString('utf8', 0, nameEnd === -1 || nameEnd > 100 ? 100 : nameEnd);
    const prefixEnd = block.indexOf(0, 345);
    const prefix = block.toString('utf8', 345, prefixEnd === -1 || prefixEnd > 500 ? 500 : prefixEnd);
    const size = readOctal(block, 124, 12);
    const type = String.fromCharCode(block[156] || 0x30);
    let delivered = 0;
    const body = async function* () {
      for await (const chunk of reader.stream(size)) {
        delivered += chunk.length;
        yield chunk;
      }
    };
    yield {
      name: prefix ? `${prefix}/${name}` : name,
      size,
      mode: readOctal(block, 100, 8),
      mtimeMs: readOctal(block, 136, 12) * 1000,
      type,
      body: { [Symbol.asyncIterator]: body },
    };
    // Whatever the caller left unread is skipped, then the padding.
    for await (const _ of reader.stream(size - delivered));
    await reader.take((BLOCK - (size % BLOCK)) % BLOCK);
  }
}
