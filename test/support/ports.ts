import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on now: the system's pick, released at once. Another process may
 * be given it before the caller binds it, so a caller that cannot afford that retries on a new one.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
