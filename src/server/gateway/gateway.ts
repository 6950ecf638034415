import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '../../protocol/index.ts';
import { sessionKeyOf, type Accounts } from '../accounts/accounts.ts';
import { ParleyError } from '../errors.ts';
import type { Chat } from '../chat/chat.ts';
import { sessionTokenOf } from '../edge/credentials.ts';
import { Connection, type ConnectionLimits } from './connection.ts';
import type { Hub } from './hub.ts';
import type { Clock } from '../clock.ts';
import type { EdgePolicy } from '../edge/edge-policy.ts';
import { guardRequest } from '../edge/request-guard.ts';
import { refuseRaw } from '../edge/raw-refusal.ts';

export interface GatewayOptions extends ConnectionLimits {
  path: string;
  /** The host and origin checks every HTTP request passes too. */
  edge: EdgePolicy;
  heartbeatMs: number;
  /** WebSocket connections one user may hold open at once; one more is refused with 429 TOO_MANY_CONNECTIONS. */
  maxConnectionsPerUser: number;
  clock: Clock;
}

/**
 * Accepts WebSocket sessions on `path`: checks the Origin and the session before the
 * handshake completes, then hands the socket to a Connection. Also runs the heartbeat that
 * cuts off peers which stopped answering pings.
 */
export class Gateway {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    // Connection answers pings itself, through its bounded queue and its frame limit: ws's own
    // guard against a ping flood cut the socket without a close frame.
    autoPong: false,
  });
  private readonly stopHeartbeat: () => void;
  private accepting = true;
  /** Open sockets per user, counted from the moment the handshake is accepted until the socket closes. */
  private readonly openPerUser = new Map<number, number>();

  constructor(
    server: Server,
    private readonly accounts: Accounts,
    private readonly chat: Chat,
    private readonly hub: Hub<Connection>,
    private readonly options: GatewayOptions,
  ) {
    // A malformed handshake (method, Upgrade, key, version, subprotocol or extension headers) is
    // answered here rather than by ws, so it carries a typed error and the security headers too.
    this.wss.on('wsClientError', (error: Error, socket: Duplex) => {
      const version: Record<string, string> = /Sec-WebSocket-Version/.test(error.message) ? { 'Sec-WebSocket-Version': '13, 8' } : {};
      refuseRaw(socket, 'BAD_REQUEST', `Not a valid WebSocket handshake: ${error.message}.`, version);
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((error: unknown) => {
        // The database away while the session is checked: the client is told so, and when to
        // try again, like any HTTP request; anything else is ours.
        if (error instanceof ParleyError && error.code === 'STORE_UNAVAILABLE') {
          const wait: Record<string, string> = error.retryAfterMs === undefined ? {} : { 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) };
          return refuseRaw(socket, error.code, error.message, wait);
        }
        hub.log.error({ err: error }, 'upgrade failed');
        refuseRaw(socket, 'INTERNAL');
      });
    });
    this.stopHeartbeat = options.clock.every(options.heartbeatMs, () => this.beat());
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = (request.url ?? '').split('?')[0];
    if (path !== this.options.path) return refuseRaw(socket, 'NOT_FOUND');
    if (!this.accepting) return refuseRaw(socket, 'SHUTTING_DOWN');
    const refused = guardRequest(request, this.options.edge);
    if (refused) return refuseRaw(socket, refused);
    const token = sessionTokenOf(request.headers);
    const user = token ? await this.accounts.authenticate(token) : null;
    if (!token || !user) return refuseRaw(socket, 'UNAUTHENTICATED');
    if (!this.accepting || socket.destroyed) return refuseRaw(socket, 'SHUTTING_DOWN');
    // Each socket holds a send queue and a share of every broadcast: one account may not open
    // thousands. Counted on the raw socket, so a handshake that never completes gives its slot back.
    const open = this.openPerUser.get(user.id) ?? 0;
    if (open >= this.options.maxConnectionsPerUser) return refuseRaw(socket, 'TOO_MANY_CONNECTIONS');
    this.openPerUser.set(user.id, open + 1);
    socket.once('close', () => {
      const left = (this.openPerUser.get(user.id) ?? 1) - 1;
      if (left > 0) this.openPerUser.set(user.id, left);
      else this.openPerUser.delete(user.id);
    });
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const sessionKey = sessionKeyOf(token);
      this.hub.add(new Connection(ws, user, sessionKey, this.chat, this.hub, this.options, this.options.clock));
    });
  }

  private beat(): void {
    for (const connection of this.hub.connections()) {
      if (!connection.alive) {
        // Most likely gone; a peer that merely stopped answering still gets the close code.
        connection.close(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'no pong to the heartbeat', 'drop');
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }

  /**
   * Stops accepting sessions (new handshakes get 503), lets every frame already read finish —
   * the last batch of sends is committed, fanned out and acknowledged — then closes every
   * session with "going away". Whatever a client sent that was not acknowledged was not stored,
   * and it sends it again after reconnecting. A peer that does not read holds none of this up
   * for longer than the grace.
   */
  async close(): Promise<void> {
    this.accepting = false;
    this.stopHeartbeat();
    const open = [...this.hub.connections()];
    await this.withinGrace(Promise.all(open.map((connection) => connection.finishHandling())).then(() => this.chat.drain()));
    const closed = open.map((connection) => new Promise<void>((resolve) => connection.ws.once('close', () => resolve())));
    for (const connection of open) connection.close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
    await this.withinGrace(Promise.all(closed));
    for (const connection of open) connection.ws.terminate();
  }

  /** A shutdown step, or the grace, whichever ends first: peers that do not answer are not waited for longer. */
  private withinGrace(step: Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const cancel = this.options.clock.after(SHUTDOWN_GRACE_MS, () => resolve(undefined));
      step.then(
        () => (cancel(), resolve(undefined)),
        (error: unknown) => (cancel(), reject(error)),
      );
    });
  }
}

/** How long a shutdown step waits for peers before going on without them. */
const SHUTDOWN_GRACE_MS = 3000;

