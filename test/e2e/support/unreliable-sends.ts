import type { BrowserContext } from 'playwright-core';

export interface Sabotage {
  /** Sends kept back: the message stays "sending". */
  hold: (text: string) => boolean;
  /** Sends answered with an error: the message is "not sent". */
  fail: (text: string) => boolean;
  /**
   * Sends answered as a server whose database is away answers them (STORE_UNAVAILABLE, retry
   * after 1 s): the message stays "sending", is tried again and again, and the notice shows.
   */
  unstored?: (text: string) => boolean;
}

/** By default a text starting with "hold:" is kept back, one starting with "fail:" fails, and one starting with "unstored:" is refused for want of the database. */
const BY_PREFIX: Sabotage = { hold: (text) => text.startsWith('hold:'), fail: (text) => text.startsWith('fail:'), unstored: (text) => text.startsWith('unstored:') };

/**
 * Between the page and the server: some sends are kept back and some are answered with an error,
 * as on a bad network. Applies to the connections the context opens from now on.
 */
export async function unreliableSends(context: BrowserContext, sabotage: Sabotage = BY_PREFIX): Promise<void> {
  await context.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((data) => {
      const frame = JSON.parse(String(data)) as { type: string; text?: string; clientId?: string };
      if (frame.type === 'send' && sabotage.hold(frame.text ?? '')) return;
      if (frame.type === 'send' && sabotage.fail(frame.text ?? '')) {
        ws.send(JSON.stringify({ type: 'error', code: 'INTERNAL', message: 'simulated failure', clientId: frame.clientId }));
        return;
      }
      if (frame.type === 'send' && sabotage.unstored?.(frame.text ?? '')) {
        ws.send(JSON.stringify({ type: 'error', code: 'STORE_UNAVAILABLE', message: 'The database cannot be reached; nothing was stored. Retry shortly with the same client id.', clientId: frame.clientId, retryAfterMs: 1000 }));
        return;
      }
      server.send(data);
    });
    server.onMessage((data) => ws.send(data));
  });
}
