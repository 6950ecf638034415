/**
 * What every reference peer does with a chat message, so that the peers differ only in how
 * they deliver it: check the frame's shape, give the message its place (a per-conversation
 * sequence number) and a timestamp, and build the same `message` object Parley sends. A peer
 * has no authentication and no persistence; the user says who it is in the URL
 * (`?id=7&name=u7`) or, for Socket.IO, in its handshake.
 */
export interface PeerUser {
  id: number;
  name: string;
}

export interface PeerMessage {
  conv: string;
  seq: number;
  ts: number;
  sender: PeerUser;
  clientId: string;
  text: string;
}

const seqs = new Map<string, number>();

/** Turns an incoming send (already JSON-parsed) into the message to deliver, or null when it is not a valid send. */
export function messageOf(frame: unknown, sender: PeerUser): PeerMessage | null {
  if (typeof frame !== 'object' || frame === null) return null;
  const { type, conv, clientId, text } = frame as Record<string, unknown>;
  if (type !== undefined && type !== 'send') return null;
  if (typeof conv !== 'string' || typeof clientId !== 'string' || typeof text !== 'string') return null;
  if (conv !== 'world' && dmMembers(conv) === null) return null;
  const seq = (seqs.get(conv) ?? 0) + 1;
  seqs.set(conv, seq);
  return { conv, seq, ts: Date.now(), sender, clientId, text };
}

/** Who receives a DM: its two members (the sender's other devices included, as in Parley). */
export function dmMembers(conv: string): [number, number] | null {
  const match = /^dm:(\d+):(\d+)$/.exec(conv);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

export function userOfUrl(url: string | undefined): PeerUser {
  const params = new URL(url ?? '/', 'http://peer').searchParams;
  const id = Number(params.get('id') ?? 0);
  return { id, name: params.get('name') ?? `u${id}` };
}

export function portArgument(): number {
  const index = process.argv.indexOf('--port');
  const port = Number(process.argv[index + 1]);
  if (index < 0 || !Number.isInteger(port)) throw new Error('usage: <peer> --port <port>');
  return port;
}

/** The value after `name` on the command line, or undefined when it is not given. */
export function optionalArgument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (!value || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/** Exits on SIGTERM/SIGINT like Parley does. */
export function exitOnSignals(close: () => void): void {
  const stop = () => {
    close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Users' open sockets, for DM routing. */
export class SocketsByUser<S> {
  private readonly map = new Map<number, Set<S>>();

  add(id: number, socket: S): void {
    let set = this.map.get(id);
    if (!set) this.map.set(id, (set = new Set()));
    set.add(socket);
  }

  remove(id: number, socket: S): void {
    const set = this.map.get(id);
    set?.delete(socket);
    if (set?.size === 0) this.map.delete(id);
  }

  of(id: number): Iterable<S> {
    return this.map.get(id) ?? [];
  }
}
