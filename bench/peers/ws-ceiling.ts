/**
 * `ws-ceiling`: the fastest fair way to run a chat on `ws` in one Node.js process. Each
 * broadcast is serialised and framed once (header and payload in one buffer), and the same
 * bytes are written to every recipient's socket; each socket is corked on its first write of
 * an event-loop turn and uncorked once at the end of the turn (setImmediate), so a socket gets
 * one syscall per turn however many messages it received. The ceiling for a Node.js WebSocket
 * server on this machine.
 *
 * `--redis URL`: one of several processes joined by Redis pub/sub, the least a relay between
 * processes can do: a message is delivered at once to this process's sockets, and the messages of
 * an event-loop turn are published as one envelope on one channel; every other process delivers
 * them to its own sockets (world: all of them; DM: its members'). No ordering across processes,
 * no recovery of a lost envelope: the ceiling of a cluster on Redis, which the cluster scenario
 * measures on one process and on three, beside Parley.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import * as wsModule from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { SocketsByUser, dmMembers, exitOnSignals, messageOf, optionalArgument, portArgument, userOfUrl, type PeerMessage } from './chat.ts';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };
const TEXT_FRAME = { fin: true, opcode: 0x01, mask: false, readOnly: true, rsv1: false } as const;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: portArgument(),
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
  clientTracking: false,
});
interface Recipient {
  socket: Socket;
  corked: boolean;
}
const recipients = new Set<Recipient>();
const byUser = new SocketsByUser<Recipient>();
const redisUrl = optionalArgument('--redis');
const relay = redisUrl ? redisRelay(redisUrl) : null;

let corked: Recipient[] = [];
function uncorkAll(): void {
  const list = corked;
  corked = [];
  for (const recipient of list) {
    recipient.corked = false;
    recipient.socket.uncork();
  }
}

function write(recipient: Recipient, frame: readonly Buffer[]): void {
  const socket = recipient.socket;
  if (socket.destroyed) return;
  if (!recipient.corked) {
    if (corked.length === 0) setImmediate(uncorkAll);
    recipient.corked = true;
    corked.push(recipient);
    socket.cork();
  }
  for (const buffer of frame) socket.write(buffer);
}

wss.on('connection', (ws: WebSocket, request) => {
  const user = userOfUrl(request.url);
  const recipient: Recipient = { socket: (ws as unknown as { _socket: Socket })._socket, corked: false };
  recipients.add(recipient);
  byUser.add(user.id, recipient);
  ws.on('close', () => {
    recipients.delete(recipient);
    byUser.remove(user.id, recipient);
  });
  ws.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return;
    }
    const message = messageOf(frame, user);
    if (!message) return;
    deliver(message);
    relay?.publish(message);
  });
});

/** Writes `message` to this process's sockets of its audience. */
function deliver(message: PeerMessage): void {
  // Header and payload in one buffer: one write per recipient rather than two.
  const framed = [Buffer.concat(Sender.frame(Buffer.from(JSON.stringify({ type: 'message', message })), TEXT_FRAME))];
  if (message.conv === 'world') {
    for (const recipient of recipients) write(recipient, framed);
    return;
  }
  for (const id of dmMembers(message.conv)!) for (const recipient of byUser.of(id)) write(recipient, framed);
}

/** The other processes, through one Redis channel: a turn's messages go out as one envelope. */
function redisRelay(url: string) {
  const CHANNEL = 'ws-ceiling';
  const self = randomUUID();
  const publisher = new Redis(url);
  const subscriber = new Redis(url);
  let outgoing: PeerMessage[] = [];
  void subscriber.subscribe(CHANNEL);
  subscriber.on('message', (_channel: string, text: string) => {
    const envelope = JSON.parse(text) as { from: string; messages: PeerMessage[] };
    if (envelope.from !== self) for (const message of envelope.messages) deliver(message);
  });
  const flush = () => {
    const messages = outgoing;
    outgoing = [];
    void publisher.publish(CHANNEL, JSON.stringify({ from: self, messages }));
  };
  return {
    publish(message: PeerMessage): void {
      if (outgoing.length === 0) setImmediate(flush);
      outgoing.push(message);
    },
    close(): void {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

exitOnSignals(() => {
  wss.close();
  relay?.close();
});
