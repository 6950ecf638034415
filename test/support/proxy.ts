import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay between a client and the test server that the test can hold: after `holdAfter`
 * bytes of one connection it stops passing the client's bytes on (so an upload is parked
 * mid-body, whatever the speed of the machine), until `release()`; with `holdRequest` it keeps
 * back the next request whose request line matches, whole, before its first byte reaches the
 * server (so the test can change the server's world under a request it knows is next). Answers
 * always flow back.
 * It notes each request line and Upload-Offset it passes, and each response status line.
 */
export async function startHoldingProxy(targetPort: () => number) {
  let holdAfter: number | null = null;
  let holdLine: RegExp | null = null;
  const held: (() => void)[] = [];
  const requests: { line: string; uploadOffset: number | null }[] = [];
  const responses: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort(), '127.0.0.1');
    sockets.add(client).add(upstream);
    let forwarded = 0;
    let holding = false;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.subarray(0, 2048).toString('latin1');
      const line = /^(GET|HEAD|PATCH|POST|PUT|DELETE|OPTIONS) \S+ HTTP\/1\.1/.exec(text)?.[0];
      const offset = /\r\nupload-offset: *(\d+)/i.exec(text)?.[1];
      if (line) requests.push({ line, uploadOffset: offset === undefined ? null : Number(offset) });
      if (line && holdLine?.test(line)) {
        // Nothing of this request goes on until released: this chunk waits here, the next ones in the paused socket.
        holdLine = null;
        client.pause();
        held.push(() => {
          forwarded += chunk.length;
          upstream.write(chunk);
          client.resume();
        });
        return;
      }
      if (holdAfter !== null && !holding && forwarded + chunk.length > holdAfter) {
        // This chunk still goes on; the client's next bytes wait until released. One connection is held.
        holding = true;
        holdAfter = null;
        upstream.write(chunk);
        forwarded += chunk.length;
        client.pause();
        held.push(() => client.resume());
        return;
      }
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const status = /^HTTP\/1\.1 \d{3}[^\r]*/.exec(chunk.subarray(0, 64).toString('latin1'))?.[0];
      if (status) responses.push(`${status}${/\r\nretry-after: *\d+/i.test(chunk.subarray(0, 2048).toString('latin1')) ? ' (Retry-After)' : ''}`);
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // A client that went away cleanly (its end was read) still gets every byte it sent delivered.
    client.on('close', (hadError) => (hadError ? upstream.destroy() : upstream.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    responses,
    /** Holds the next connection that passes more than `bytes` from the client. */
    holdAfter(bytes: number) {
      holdAfter = bytes;
    },
    /** Holds the next request (on any connection) whose request line, e.g. `POST /api/files HTTP/1.1`, matches. */
    holdRequest(line: RegExp) {
      holdLine = line;
    },
    get holding() {
      return held.length > 0;
    },
    release() {
      for (const resume of held.splice(0)) resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
