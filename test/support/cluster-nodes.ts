/**
 * Cluster nodes as real `parley serve` processes (so kill -9 is real) on one private PostgreSQL
 * database and one private Redis, and clients that record every frame off the wire, so a test
 * sees a duplicate the client library would have hidden.
 */
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

/** A session whose every received message frame is kept in `wire`, in arrival order, before the library orders or drops it. */
export interface WireClient {
  session: ChatSession;
  /** Messages as the library hands them on (once, in seq order per conversation). */
  messages: Message[];
  /** Every live or catch-up `message` frame off the wire, repeats included (history replies are not deliveries). */
  wire: Message[];
  presence: PresenceChange[];
  synced: () => Promise<void>;
  close(): void;
}

export function wireClient(url: string, token: string): WireClient {
  const api = new ParleyApi(url, { token });
  const wire: Message[] = [];
  const session = nodeSession(api, {
    backoffMs: { initial: 50, max: 300 },
    createSocket: (socketUrl) => {
      const ws = new WebSocket(socketUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; message?: Message };
        if (frame.type === 'message' && frame.message) wire.push(frame.message);
      });
      return ws as unknown as SocketLike;
    },
  });
  const client: WireClient = {
    session,
    messages: [],
    wire,
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
  session.on('message', (message) => client.messages.push(message));
  session.on('presence', (changes) => client.presence.push(...changes));
  return client;
}
