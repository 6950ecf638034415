import type { BrowserContext, WebSocketRoute } from 'playwright-core';

/** A switch between a browser profile and the server that can cut its live connection and refuse new ones. */
export async function cuttableNetwork(context: BrowserContext) {
  let offline = false;
  const open = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (offline) {
      void ws.close({ code: 4999, reason: 'test: network down' });
      return;
    }
    const server = ws.connectToServer();
    const pair = { page: ws, server };
    open.add(pair);
    ws.onClose(() => {
      open.delete(pair);
      void server.close();
    });
    server.onClose(() => {
      open.delete(pair);
      void ws.close();
    });
  });
  return {
    async down() {
      offline = true;
      for (const pair of [...open]) {
        await pair.server.close();
        await pair.page.close({ code: 4999, reason: 'test: network down' });
      }
    },
    up() {
      offline = false;
    },
  };
}
