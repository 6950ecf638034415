import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback port that stays put in front of a server that restarts. A restarted server takes
 * any free port (asking the system for the old one back races every other process on the
 * machine, which may have been given it meanwhile); clients keep the same address.
 * Connections are passed through byte for byte; while the server is down they are refused.
 * A test may also point the door at another server and `cut()` the open connections, as a
 * DNS name or a proxy that comes to lead elsewhere would.
 */
export async function startFrontDoor(backendPort: () => number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const door = createServer((client) => {
    const upstream = connect(backendPort(), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    // pipe() passes each end on; an error or a client gone for good ends both.
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve));
  return {
    port: (door.address() as AddressInfo).port,
    /** Closes the connections passing through, and keeps the door open: clients that reconnect reach whatever `backendPort` names now. */
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => door.close(resolve));
    },
  };
}
