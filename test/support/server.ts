import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { AccountLimits } from '../../src/server/accounts/accounts.ts';
import { startParley, type RunningParley } from '../../src/server/app.ts';
import { parseConfig } from '../../src/server/config.ts';
import type { Clock } from '../../src/server/clock.ts';

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  parley: RunningParley;
  /** Stops the server and starts it again on the same port and data folder. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The real server on a free loopback port with a fresh data folder (removed on close). */
export async function startTestServer(
  options: { flags?: string[]; accountLimits?: AccountLimits; dataDir?: string; webRoot?: string; fileCatchUpBatch?: number; clock?: Clock } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'parley-test-')));
  const start = (port: number) => {
    const config = parseConfig(['--port', String(port), '--data', dataDir, ...(options.flags ?? [])], {}, { webRoot: options.webRoot ?? null });
    return startParley(config, {
      logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
      ...(options.accountLimits ? { accountLimits: options.accountLimits } : {}),
      ...(options.fileCatchUpBatch ? { fileCatchUpBatch: options.fileCatchUpBatch } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  };
  const server: TestServer = {
    parley: await start(0),
    get url() {
      return server.parley.url;
    },
    get port() {
      return server.parley.port;
    },
    dataDir,
    async restart() {
      const port = server.parley.port;
      await server.parley.close();
      server.parley = await start(port);
    },
    async close() {
      await server.parley.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
