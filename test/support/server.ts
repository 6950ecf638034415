import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { AccountLimits } from '../../src/server/accounts/accounts.ts';
import { startParley, type RunningParley } from '../../src/server/app.ts';
import { parseConfig } from '../../src/server/config.ts';
import type { Clock } from '../../src/server/clock.ts';
import { startFrontDoor } from './front-door.ts';
import { ManualClock } from './manual-clock.ts';

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  parley: RunningParley;
  /** Stops the server and starts it again on the same data folder, at the same address (needs `restartable`). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  flags?: string[];
  accountLimits?: AccountLimits;
  dataDir?: string;
  webRoot?: string;
  fileCatchUpBatch?: number;
  sessionRecheckMs?: number;
  clock?: Clock;
  /** The server's logger; silent by default (PARLEY_TEST_LOG sets a level). */
  logger?: Logger;
  /**
   * Clients connect through a fixed port in front of the server (support/front-door.ts), so that
   * `restart()` can take any free port and still keep the address. Off by default: the front door
   * adds buffers of its own between a client and the server's send queue.
   */
  restartable?: boolean;
}

/** The real server on a free loopback port with a fresh data folder (removed on close). */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'parley-test-')));
  const start = () => {
    const config = parseConfig(['--port', '0', '--data', dataDir, ...(options.flags ?? [])], {}, { webRoot: options.webRoot ?? null });
    return startParley(config, {
      logger: options.logger ?? pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
      ...(options.accountLimits ? { accountLimits: options.accountLimits } : {}),
      ...(options.fileCatchUpBatch ? { fileCatchUpBatch: options.fileCatchUpBatch } : {}),
      ...(options.sessionRecheckMs ? { sessionRecheckMs: options.sessionRecheckMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  };
  let parley = await start();
  /**
   * Shutdown waits for peers at most its grace, timed on the server's clock: a hand-moved clock
   * is moved on meanwhile (a second per 20 ms), so a peer that never answers cannot hold a test's
   * clean-up past the grace, as it cannot hold a real server's.
   */
  const stop = async () => {
    const clock = options.clock;
    if (!(clock instanceof ManualClock)) return parley.close();
    let stopped = false;
    const closing = parley.close().finally(() => (stopped = true));
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (!stopped) await clock.advance(1000);
    }
    return closing;
  };
  const door = options.restartable ? await startFrontDoor(() => parley.port) : null;
  const port = door?.port ?? parley.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    get parley() {
      return parley;
    },
    async restart() {
      if (!door) throw new Error('startTestServer({ restartable: true }) for a server that restarts');
      await stop();
      parley = await start();
    },
    async close() {
      await stop();
      await door?.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
