import { isStoreUnavailable, type ChatSession, type ParleyApi } from '../client/index.ts';
import { nodeSession } from '../client/node.ts';
import type { ConversationId, ServerFrameOf } from '../protocol/index.ts';
import { CliError } from './errors.ts';
import { storeWaitNotes } from './store-wait.ts';

const CONNECT_TIMEOUT_MS = 15_000;

/**
 * Opens a live session. Listeners attached right after this returns miss nothing: the socket
 * only opens on a later turn of the event loop. `ready` settles once catch-up is over, and
 * fails if the first connection does not get that far, unless the server refused it because it
 * cannot reach its database (a handshake answered 503 STORE_UNAVAILABLE): then it waits for the
 * database as a send does, saying so in one line, and the session's own reconnects get through
 * once it is back.
 */
export function startLive(
  api: ParleyApi,
  options: { reconnect: boolean; cursors?: Record<ConversationId, number> },
): { session: ChatSession; ready: Promise<ServerFrameOf<'welcome'>> } {
  const session = nodeSession(api, { reconnect: options.reconnect, ...(options.cursors ? { cursors: options.cursors } : {}) });
  const ready = new Promise<ServerFrameOf<'welcome'>>((resolve, reject) => {
    let welcome: ServerFrameOf<'welcome'> | undefined;
    const storeWait = storeWaitNotes('connecting', 'connected');
    let waitingForStore = false;
    let asking = false;
    const fail = (why: string) => {
      stop();
      session.close();
      reject(new CliError(`Could not open a live session with ${api.socketUrl}: ${why}.`));
    };
    const timer = setTimeout(() => fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    const offs = [
      session.on('welcome', (frame) => (welcome = frame)),
      session.on('synced', () => {
        if (waitingForStore) storeWait.flowing?.();
        stop();
        resolve(welcome!);
      }),
      session.on('state', ({ state, closeCode, reason }) => {
        const why = reason || `the connection closed (code ${closeCode ?? 'none'})`;
        if (state === 'closed') return fail(why);
        // A connection that closed before the first sync is an answer, not a hiccup to retry,
        // unless the database is what is missing. (A reconnect starting says 'reconnecting' with no close code.)
        if (state !== 'reconnecting' || closeCode === undefined || asking) return;
        if (!options.reconnect) return fail(why);
        asking = true;
        void storeIsAway(api).then((away) => {
          asking = false;
          if (!away) return fail(why);
          if (!waitingForStore) {
            waitingForStore = true;
            clearTimeout(timer);
            storeWait.delayed?.(1_000);
          }
        });
      }),
    ];
    const stop = () => {
      clearTimeout(timer);
      for (const off of offs) off();
    };
  });
  session.connect();
  return { session, ready };
}

/** Whether the server says it cannot reach its database (its answer to a cheap authenticated request). */
async function storeIsAway(api: ParleyApi): Promise<boolean> {
  try {
    await api.me();
    return false;
  } catch (error) {
    return isStoreUnavailable(error);
  }
}
