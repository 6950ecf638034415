import type { ChatSession, ParleyApi } from '../client/index.ts';
import { nodeSession } from '../client/node.ts';
import type { ConversationId, ServerFrameOf } from '../protocol/index.ts';
import { CliError } from './errors.ts';

const CONNECT_TIMEOUT_MS = 15_000;

/**
 * Opens a live session. Listeners attached right after this returns miss nothing: the socket
 * only opens on a later turn of the event loop. `ready` settles once catch-up is over, and
 * fails if the first connection does not get that far.
 */
export function startLive(
  api: ParleyApi,
  options: { reconnect: boolean; cursors?: Record<ConversationId, number> },
): { session: ChatSession; ready: Promise<ServerFrameOf<'welcome'>> } {
  const session = nodeSession(api, { reconnect: options.reconnect, ...(options.cursors ? { cursors: options.cursors } : {}) });
  const ready = new Promise<ServerFrameOf<'welcome'>>((resolve, reject) => {
    let welcome: ServerFrameOf<'welcome'> | undefined;
    const fail = (why: string) => {
      stop();
      session.close();
      reject(new CliError(`Could not open a live session with ${api.socketUrl}: ${why}.`));
    };
    const timer = setTimeout(() => fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    const offs = [
      session.on('welcome', (frame) => (welcome = frame)),
      session.on('synced', () => {
        stop();
        resolve(welcome!);
      }),
      session.on('state', ({ state, closeCode, reason }) => {
        // Before the first sync a dropped connection is an answer, not a hiccup to retry.
        if (state === 'closed' || state === 'reconnecting') fail(reason || `the connection closed (code ${closeCode ?? 'none'})`);
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
