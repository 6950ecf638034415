/**
 * Cluster nodes as real `parley serve` processes (so kill -9 is real) on one private PostgreSQL
 * database and one private Redis, and clients that record every frame off the wire, so a test
 * sees a duplicate the client library would have hidden.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ParleyApi } from '../../src/client/api.ts';
import { nodeSession } from '../../src/client/node.ts';
import type { ChatSession, SocketLike } from '../../src/client/session.ts';
import type { Message, PresenceChange } from '../../src/protocol/index.ts';
import { serveProcess, type ParleyProcess } from './parley-process.ts';

export interface ClusterNode {
  process: ParleyProcess;
  url: string;
  /** kill -9, and wait for the exit. */
  kill(): Promise<void>;
}

export async function startNode(database: string, redis: string, flags: string[] = []): Promise<ClusterNode & { close(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-node-'));
  const process = await serveProcess(['--port', '0', '--data', dataDir, '--database', database, '--redis', redis, ...flags]);
  const kill = async () => {
    if (process.child.exitCode === null && process.child.signalCode === null) {
      process.child.kill('SIGKILL');
      await process.exited;
    }
  };
  return {
    process,
    url: process.url,
    kill,
    async close() {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What a client was handed in one conversation, in constant memory: the first and last seq, how
 * many, and a SHA-256 over each message's seq and client id in the order handed on. Two digests
 * are equal only if the same messages came in the same order (the count and the first seq pin
 * the range; the hash, every message in it).
 */
export interface DeliveryDigest {
  first: number;
  last: number;
  count: number;
  sha256: string;
}

class DigestBuilder {
  private first = 0;
  private last = 0;
  private count = 0;
  private readonly hash: Hash = createHash('sha256');

  add(message: Message): void {
    if (this.count === 0) this.first = message.seq;
    this.last = message.seq;
    this.count++;
    this.hash.update(`${message.seq} ${message.clientId}\n`);
  }

  digest(): DeliveryDigest {
    return { first: this.first, last: this.last, count: this.count, sha256: this.hash.copy().digest('hex') };
  }
}

/** The digest a client that was handed exactly these messages, in this order, holds. */
export function digestOf(messages: readonly Message[]): DeliveryDigest {
  const builder = new DigestBuilder();
  for (const message of messages) builder.add(message);
  return builder.digest();
}

/** A session whose every received message frame is kept in `wire`, in arrival order, before the library orders or drops it. */
export interface WireClient {
  session: ChatSession;
  /** Messages as the library hands them on (once, in seq order per conversation); empty when only digests are kept. */
  messages: Message[];
  /** Every live or catch-up `message` frame off the wire, repeats included (history replies are not deliveries); empty when only digests are kept. */
  wire: Message[];
  /** Per conversation, the digest of what the library handed on (kept whatever `record` says). */
  digest(conv: string): DeliveryDigest | undefined;
  presence: PresenceChange[];
  synced: () => Promise<void>;
  close(): void;
}

/**
 * `record: 'digest'` keeps no message, only each conversation's digest: for long runs under load,
 * where 50 clients holding every message of the world chat (twice: off the wire and handed on)
 * would hold gigabytes.
 */
export function wireClient(url: string, token: string, { record = 'everything' }: { record?: 'everything' | 'digest' } = {}): WireClient {
  const api = new ParleyApi(url, { token });
  const keep = record === 'everything';
  const wire: Message[] = [];
  const session = nodeSession(api, {
    backoffMs: { initial: 50, max: 300 },
    createSocket: (socketUrl) => {
      const ws = new WebSocket(socketUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; message?: Message };
        if (keep && frame.type === 'message' && frame.message) wire.push(frame.message);
      });
      return ws as unknown as SocketLike;
    },
  });
  const digests = new Map<string, DigestBuilder>();
  const client: WireClient = {
    session,
    messages: [],
    wire,
    digest: (conv) => digests.get(conv)?.digest(),
    presence: [],
    synced: () =>
      new Promise<void>((resolve) => {
        const off = session.on('synced', () => {
          off();
          resolve();
        });
      }),
    close: () => session.close(),
  };
  session.on('message', (message) => {
    if (keep) client.messages.push(message);
    let builder = digests.get(message.conv);
    if (!builder) digests.set(message.conv, (builder = new DigestBuilder()));
    builder.add(message);
  });
  session.on('presence', (changes) => client.presence.push(...changes));
  return client;
}
