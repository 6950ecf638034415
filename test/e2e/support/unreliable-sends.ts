import type { BrowserContext } from 'playwright-core';

/**
 * Between the page and the server: a send whose text starts with "hold:" is kept back (the message
 * stays "sending"), and one starting with "fail:" is answered with an error (it is "not sent").
 * Applies to the connections the context opens from now on.
 */
export async function unreliableSends(context: BrowserContext): Promise<void> {
  await context.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((data) => {
      const frame = JSON.parse(String(data)) as { type: string; text?: string; clientId?: string };
      if (frame.type === 'send' && frame.text?.startsWith('hold:')) return;
      if (frame.type === 'send' && frame.text?.startsWith('fail:')) {
        ws.send(JSON.stringify({ type: 'error', code: 'INTERNAL', message: 'simulated failure', clientId: frame.clientId }));
        return;
      }
      server.send(data);
    });
    server.onMessage((data) => ws.send(data));
  });
}
