/**
 * The storage floor for `history`: Parley's own SqliteStore answering the same page and
 * catch-up reads in-process, with no network, framing or JSON in between. Parley's latency
 * minus this is what the protocol path costs. Runs on the server core, against the same file,
 * while no server has it open.
 */
import { join } from 'node:path';
import { SqliteStore } from '../../src/server/storage/sqlite/sqlite-store.ts';
import { summarize, type LatencySummary } from '../stats.ts';
import { DB_FILE } from '../lib/seed.ts';
import { serveRpc } from '../lib/rpc.ts';

export interface ReadsParams {
  dir: string;
  lastSeq: number;
  pageSize: number;
  requests: number;
  catchUps: number;
  catchUp: number;
}

export interface ReadsResult {
  newestPage: LatencySummary;
  olderPage: LatencySummary;
  catchUp: LatencySummary;
}

serveRpc({
  run: async (params: ReadsParams): Promise<ReadsResult> => {
    const store = new SqliteStore(join(params.dir, DB_FILE), 'full');
    const time = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    for (let i = 0; i < 20; i++) await store.page('world', params.pageSize);
    const newest: number[] = [];
    const older: number[] = [];
    for (let i = 0; i < params.requests; i++) {
      newest.push(await time(() => store.page('world', params.pageSize)));
      const before = params.pageSize + 1 + Math.floor(Math.random() * (params.lastSeq - params.pageSize));
      older.push(await time(() => store.page('world', params.pageSize, before)));
    }
    const catchUp: number[] = [];
    for (let i = 0; i < params.catchUps; i++) {
      catchUp.push(await time(() => store.after('world', params.lastSeq - params.catchUp, params.catchUp)));
    }
    await store.close();
    return { newestPage: summarize(newest), olderPage: summarize(older), catchUp: summarize(catchUp) };
  },
});
