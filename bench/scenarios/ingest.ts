import { rmSync } from 'node:fs';
import type { IngestResult } from '../load/ingest-load.ts';
import { runTool, spawnLoad, stopProcess } from '../lib/processes.ts';
import { fmtMs, fmtPercent, fmtRate, fmtRatio, gapAtLeast, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { benchTempDir, copyDataDir, seedDataDir } from '../lib/seed.ts';
import { hotSpotTables, profileDirFor } from '../lib/profiles.ts';
import { startServer } from '../lib/servers.ts';
import { median, roundRatios } from '../stats.ts';
import type { CeilingResult } from '../tools/sqlite-ceiling.ts';
import { PLACEHOLDER_HASH } from './chat.ts';

/**
 * `ingest`: how many messages a second Parley accepts, validates, commits with its shipped
 * durability (synchronous=FULL, group commit) and acknowledges, with no receivers; against the
 * same count of rows inserted in one tight SQLite transaction (the storage ceiling).
 */
const SENDERS = 4;
const WINDOW = 250;
const TEXT = 64;

export async function ingestScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const messages = ctx.quick ? 30_000 : 200_000;
  const seeded = seedDataDir(benchTempDir('ingest-seed'), { users: SENDERS * 2, passwordHash: PLACEHOLDER_HASH });
  const senders = seeded.users.slice(0, SENDERS);
  const partners = seeded.users.slice(SENDERS);
  const parleyRuns: IngestResult[] = [];
  const ceilingRuns: CeilingResult[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round++) {
      for (const which of round % 2 === 0 ? ['parley', 'ceiling'] : ['ceiling', 'parley']) {
        await ctx.settle(`ingest ${which}`);
        if (which === 'ceiling') {
          const c = await runTool<CeilingResult>(ctx.pinning, 'sqlite-ceiling.ts', { rows: messages, textLength: TEXT, durability: 'full' });
          ceilingRuns.push(c);
          ctx.log(`    sqlite     ${fmtRate(c.oneTransaction.perSecond)} rows/s in one transaction, ${fmtRate(c.hundredPerCommit.perSecond)} rows/s at 100 a commit`);
          continue;
        }
        const dataDir = copyDataDir(seeded, 'ingest');
        const cpuProfDir = profileDirFor(ctx, 'ingest');
        const server = await startServer('parley', ctx.pinning, { dataDir, ...(cpuProfDir ? { cpuProfDir } : {}) });
        const load = spawnLoad(ctx.pinning);
        try {
          const r = await load.rpc.call<IngestResult>('ingest.run', {
            port: server.port,
            senders,
            partners,
            warmup: 5000,
            messages,
            window: WINDOW,
            textLength: TEXT,
            serverPid: server.pid,
          });
          parleyRuns.push(r);
          ctx.log(`    parley     ${fmtRate(r.perSecond)} msgs/s acknowledged, ack p99 ${fmtMs(r.ackLatency.p99)} ms, server ${r.serverCpuMicrosPerMessage.toFixed(1)} us CPU/msg (CPU ${fmtPercent(r.serverCpu)}), generator CPU ${fmtPercent(r.generatorCpu)}${r.errors ? `, ${r.errors} errors` : ''}`);
        } finally {
          await load.rpc.call('exit').catch(() => {});
          await stopProcess(load.child);
          await server.stop();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    rmSync(seeded.dir, { recursive: true, force: true });
  }
  const parley = {
    perSecond: median(parleyRuns.map((r) => r.perSecond)),
    ackP50: median(parleyRuns.map((r) => r.ackLatency.p50)),
    ackP99: median(parleyRuns.map((r) => r.ackLatency.p99)),
    errors: median(parleyRuns.map((r) => r.errors)),
    generatorCpu: median(parleyRuns.map((r) => r.generatorCpu)),
    serverCpuMicrosPerMessage: median(parleyRuns.map((r) => r.serverCpuMicrosPerMessage)),
    serverCpu: median(parleyRuns.map((r) => r.serverCpu)),
  };
  const ceiling = {
    oneTransactionPerSecond: median(ceilingRuns.map((c) => c.oneTransaction.perSecond)),
    hundredPerCommitPerSecond: median(ceilingRuns.map((c) => c.hundredPerCommit.perSecond)),
  };
  const ratio = roundRatios(parleyRuns.map((r) => r.perSecond), ceilingRuns.map((c) => c.oneTransaction.perSecond));
  const profiled = hotSpotTables(profileDirFor(ctx, 'ingest'), 'ingest');
  const vs100 = roundRatios(parleyRuns.map((r) => r.perSecond), ceilingRuns.map((c) => c.hundredPerCommit.perSecond));
  return {
    scenario: 'ingest',
    title: `ingest: ${messages.toLocaleString('en')} messages from ${SENDERS} senders (${WINDOW} in flight each), no receivers, synchronous=FULL`,
    status: 'done',
    settings: { messages, senders: SENDERS, window: WINDOW, textLength: TEXT, durability: 'full', rounds: ctx.rounds },
    parley,
    peers: { 'sqlite-ceiling': ceiling },
    ratios: { 'sqlite-one-transaction': ratio, 'sqlite-100-per-commit': vs100 },
    targets: [
      { target: 'ingest', goal: '>= 0.5x the storage ceiling (one transaction)', value: fmtRatio(ratio.median), met: ratio.median >= 0.5, gap: gapAtLeast(ratio.median, 0.5) },
    ],
    rounds: [...parleyRuns.map((r, i) => ({ round: i, parley: r })), ...ceilingRuns.map((c, i) => ({ round: i, ceiling: c }))],
    notes: [],
    tables: [
      {
        title: `ingest: medians of ${ctx.rounds} round(s)`,
        columns: ['what', 'msgs/s', 'Parley/this', 'per round', 'ack p50 ms', 'ack p99 ms', 'server CPU', 'server CPU/msg', 'gen CPU'],
        rows: [
          [
            'Parley: send -> commit -> ack',
            fmtRate(parley.perSecond),
            '',
            '',
            fmtMs(parley.ackP50),
            fmtMs(parley.ackP99),
            fmtPercent(parley.serverCpu),
            `${parley.serverCpuMicrosPerMessage.toFixed(1)} us`,
            fmtPercent(parley.generatorCpu),
          ],
          ['SQLite, one transaction (ceiling)', fmtRate(ceiling.oneTransactionPerSecond), fmtRatio(ratio.median), ratio.perRound.map(fmtRatio).join(' '), '', '', '', '', ''],
          ['SQLite, 100 rows per commit', fmtRate(ceiling.hundredPerCommitPerSecond), fmtRatio(vs100.median), vs100.perRound.map(fmtRatio).join(' '), '', '', '', '', ''],
        ],
      },
      ...profiled.tables,
    ],
    ...(profiled.json ? { hotSpots: profiled.json } : {}),
  };
}
