import type { BrowserContext } from 'playwright-core';

export interface Sabotage {
  /** Sends kept back: the message stays "sending". */
  hold: (text: string) => boolean;
  /** Sends answered with an error: the message is "not sent". */
  fail: (text: string) => boolean;
}

/** By default a text starting with "hold:" is kept back, and one starting with "fail:" fails. */
const BY_PREFIX: Sabotage = { hold: (text) => text.startsWith('hold:'), fail: (text) => text.startsWith('fail:') };

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
      server.send(data);
    });
    server.onMessage((data) => ws.send(data));
  });
}
