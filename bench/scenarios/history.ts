import { rmSync } from 'node:fs';
import type { HistoryResult } from '../load/history-load.ts';
import { runTool, spawnLoad, stopProcess } from '../lib/processes.ts';
import { fmtMs, fmtRatio, gapAtMost, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { benchTempDir, seedDataDir } from '../lib/seed.ts';
import { hotSpotTables, profileDirFor } from '../lib/profiles.ts';
import { startServer } from '../lib/servers.ts';
import { median, roundRatios, type LatencySummary } from '../stats.ts';
import type { ReadsResult } from '../tools/sqlite-reads.ts';
import { PLACEHOLDER_HASH } from './chat.ts';

/**
 * `history`: a world conversation preloaded with 1,000,000 messages. Parley answers history
 * pages (newest and random older ones, over WebSocket and HTTP) and reconnects that catch up
 * on 1,000 missed messages; the reference is Parley's own store doing the same reads in-process
 * (the storage floor), run alternately against the same file.
 */
const MESSAGES = 1_000_000;
const PAGE = 50;
const CATCH_UP = 1000;

export async function historyScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const requests = ctx.quick ? 200 : 2000;
  const catchUps = ctx.quick ? 15 : 100;
  const t0 = performance.now();
  // User 1 has read everything; user 2 was away for the last CATCH_UP messages.
  const seeded = seedDataDir(benchTempDir('history'), {
    users: 2,
    passwordHash: PLACEHOLDER_HASH,
    messages: MESSAGES,
    readSeq: (i, m) => (i === 0 ? m : m - CATCH_UP),
  });
  ctx.log(`   preloaded ${MESSAGES} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup, not measured)`);
  const parleyRuns: HistoryResult[] = [];
  const floorRuns: ReadsResult[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round++) {
      const order = round % 2 === 0 ? ['parley', 'floor'] : ['floor', 'parley'];
      for (const which of order) {
        await ctx.settle(`history ${which}`);
        if (which === 'floor') {
          floorRuns.push(
            await runTool<ReadsResult>(ctx.pinning, 'sqlite-reads.ts', {
              dir: seeded.dir,
              lastSeq: MESSAGES,
              pageSize: PAGE,
              requests,
              catchUps,
              catchUp: CATCH_UP,
            }),
          );
          const f = floorRuns.at(-1)!;
          ctx.log(`    store      newest p99 ${fmtMs(f.newestPage.p99)} ms, older p99 ${fmtMs(f.olderPage.p99)} ms, ${CATCH_UP} after p99 ${fmtMs(f.catchUp.p99)} ms`);
          continue;
        }
        const cpuProfDir = profileDirFor(ctx, 'history');
        const server = await startServer('parley', ctx.pinning, { dataDir: seeded.dir, ...(cpuProfDir ? { cpuProfDir } : {}) });
        const load = spawnLoad(ctx.pinning);
        try {
          const result = await load.rpc.call<HistoryResult>('history.run', {
            port: server.port,
            reader: seeded.users[0],
            returning: seeded.users[1],
            lastSeq: MESSAGES,
            pageSize: PAGE,
            requests,
            catchUps,
            catchUp: CATCH_UP,
          });
          parleyRuns.push(result);
          ctx.log(
            `    parley     newest p99 ${fmtMs(result.newestPage.p99)} ms, older p99 ${fmtMs(result.olderPage.p99)} ms, ` +
              `catch-up p99 ${fmtMs(result.catchUpFromConnect.p99)} ms`,
          );
        } finally {
          await load.rpc.call('exit').catch(() => {});
          await stopProcess(load.child);
          await server.stop();
        }
      }
    }
  } finally {
    rmSync(seeded.dir, { recursive: true, force: true });
  }

  const med = (list: LatencySummary[]) => ({
    p50: median(list.map((l) => l.p50)),
    p99: median(list.map((l) => l.p99)),
    max: median(list.map((l) => l.max)),
  });
  const parley = {
    newestPage: med(parleyRuns.map((r) => r.newestPage)),
    olderPage: med(parleyRuns.map((r) => r.olderPage)),
    httpNewestPage: med(parleyRuns.map((r) => r.httpNewestPage)),
    catchUpHelloToSynced: med(parleyRuns.map((r) => r.catchUpHelloToSynced)),
    catchUpFromConnect: med(parleyRuns.map((r) => r.catchUpFromConnect)),
  };
  const floor = {
    newestPage: med(floorRuns.map((r) => r.newestPage)),
    olderPage: med(floorRuns.map((r) => r.olderPage)),
    catchUp: med(floorRuns.map((r) => r.catchUp)),
  };
  const ratios: ScenarioReport['ratios'] = {
    'newestPage.p99:store': roundRatios(parleyRuns.map((r) => r.newestPage.p99), floorRuns.map((r) => r.newestPage.p99)),
    'olderPage.p99:store': roundRatios(parleyRuns.map((r) => r.olderPage.p99), floorRuns.map((r) => r.olderPage.p99)),
    'catchUp.p99:store': roundRatios(parleyRuns.map((r) => r.catchUpHelloToSynced.p99), floorRuns.map((r) => r.catchUp.p99)),
  };
  const cell = (x: { p50: number; p99: number }) => [fmtMs(x.p50), fmtMs(x.p99)];
  const profiled = hotSpotTables(profileDirFor(ctx, 'history'), 'history');
  return {
    scenario: 'history',
    title: `history: world chat preloaded with ${MESSAGES.toLocaleString('en')} messages, pages of ${PAGE}, catch-up of ${CATCH_UP}`,
    status: 'done',
    settings: { messages: MESSAGES, pageSize: PAGE, requests, catchUps, catchUp: CATCH_UP, rounds: ctx.rounds },
    parley,
    peers: { store: floor },
    ratios,
    targets: [
      { target: 'history', goal: 'newest page p99 <= 5 ms', value: `${fmtMs(parley.newestPage.p99)} ms`, met: parley.newestPage.p99 <= 5, gap: gapAtMost(parley.newestPage.p99, 5, 'ms') },
      { target: 'history', goal: 'older page p99 <= 5 ms', value: `${fmtMs(parley.olderPage.p99)} ms`, met: parley.olderPage.p99 <= 5, gap: gapAtMost(parley.olderPage.p99, 5, 'ms') },
      {
        target: 'history',
        goal: `catch-up of ${CATCH_UP} messages <= 50 ms (p99, TCP connect to synced)`,
        value: `${fmtMs(parley.catchUpFromConnect.p99)} ms`,
        met: parley.catchUpFromConnect.p99 <= 50,
        gap: gapAtMost(parley.catchUpFromConnect.p99, 50, 'ms'),
      },
    ],
    rounds: [...parleyRuns.map((r, i) => ({ round: i, parley: r })), ...floorRuns.map((r, i) => ({ round: i, store: r }))],
    notes: [],
    tables: [
      {
        title: `history: latency in ms, medians of ${ctx.rounds} round(s) (${requests} requests of each kind per round, one at a time)`,
        columns: ['read', 'Parley p50', 'Parley p99', 'store p50', 'store p99', 'Parley/store p99'],
        rows: [
          ['newest page (WebSocket)', ...cell(parley.newestPage), ...cell(floor.newestPage), fmtRatio(ratios['newestPage.p99:store']!.median)],
          ['older page (WebSocket)', ...cell(parley.olderPage), ...cell(floor.olderPage), fmtRatio(ratios['olderPage.p99:store']!.median)],
          ['newest page (HTTP GET)', ...cell(parley.httpNewestPage), '', '', ''],
          [`catch-up ${CATCH_UP}: hello to synced`, ...cell(parley.catchUpHelloToSynced), ...cell(floor.catchUp), fmtRatio(ratios['catchUp.p99:store']!.median)],
          [`catch-up ${CATCH_UP}: connect to synced`, ...cell(parley.catchUpFromConnect), '', '', ''],
        ],
      },
      ...profiled.tables,
    ],
    ...(profiled.json ? { hotSpots: profiled.json } : {}),
  };
}
