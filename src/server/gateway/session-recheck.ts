import type { Logger } from 'pino';
import { CLOSE_CODES } from '../../protocol/index.ts';
import type { Clock } from '../clock.ts';
import type { Hub, Recipient } from './hub.ts';

/** How often, in a cluster, each node asks the database which of its connections' sessions are still live. */
export const SESSION_RECHECK_MS = 15_000;

/**
 * Closes this node's connections whose session has ended, as the database says. A logout, a
 * password change or "log out everywhere" made through another node reaches this one as an event
 * on the bus, and an event can be lost on the way (Redis away or paused while it was published):
 * the connection would stay open, and go on sending, as a session that no longer exists. So in a
 * cluster each node also checks every open connection's session against storage, after every
 * read-back that follows a bus loss and every SESSION_RECHECK_MS in any case, and closes those
 * that ended (or expired) with 4001, as the event would have. One query per check, whatever the
 * number of connections.
 */
export class SessionRecheck {
  private running: Promise<void> | null = null;
  private again = false;
  private readonly stopTimer: () => void;

  constructor(
    private readonly hub: Pick<Hub<Recipient>, 'connections'>,
    /** Of these session keys (hex token hashes), those of sessions still live. */
    private readonly liveSessions: (keys: readonly string[]) => Promise<Set<string>>,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
    clock: Clock,
    intervalMs: number = SESSION_RECHECK_MS,
  ) {
    this.stopTimer = clock.every(intervalMs, () => void this.run());
  }

  /** Checks now (a check already running is followed by one more). Never rejects: a database away is logged and the next check tries again. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.check().catch((error: unknown) => this.log.warn({ err: error }, 'could not check the open connections’ sessions; trying again later'));
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  stop(): void {
    this.stopTimer();
  }

  private async check(): Promise<void> {
    const open = [...this.hub.connections()];
    if (open.length === 0) return;
    const live = await this.liveSessions([...new Set(open.map((connection) => connection.sessionKey))]);
    let closed = 0;
    for (const connection of open) {
      if (live.has(connection.sessionKey)) continue;
      connection.close(CLOSE_CODES.SESSION_ENDED, 'session ended');
      closed += 1;
    }
    if (closed > 0) this.log.info({ closed }, 'closed connections whose session had ended (its event did not reach this node)');
  }
}
