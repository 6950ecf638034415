import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR, spawnNode } from '../lib/processes.ts';
import { benchTempDir } from '../lib/seed.ts';
import { fmtRatio, gapAtLeast, gapAtMost, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { median, roundRatios } from '../stats.ts';

/**
 * `files`: a file relayed through Parley (upload: the server hashes and stores it; download:
 * the recipient hashes and stores it) against raw TCP over loopback, and the server's peak
 * RSS. The transfer itself is bench/file-relay.ts, written with file transfer (issue 4); this
 * scenario runs it once per round, in its own process free to use every core (the client in
 * that process, the server in a child, so each can have a core as on two machines), and
 * reports medians and per-round ratios like the others.
 */
interface RelayResult {
  bytes: number;
  rawTcp: number;
  upload: number;
  download: number;
  relay: number;
  senderHash: number;
  serverPeakRssMb: number;
  serverIdleRssMb: number;
}

const RSS_GOAL_MB = 150;

async function relayOnce(mib: number): Promise<RelayResult> {
  const dir = benchTempDir('files');
  const out = join(dir, 'relay.json');
  try {
    const cpus = `0-${availableParallelism() - 1}`; // undo the runner's pinning, which children inherit
    const child = spawnNode(join(BENCH_DIR, 'file-relay.ts'), ['--mib', String(mib), '--rounds', '1', '--json', out], {
      cpus,
      nodeFlags: ['--import', 'tsx'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`bench/file-relay.ts exited with ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as RelayResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function filesScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const base = { scenario: 'files', title: 'files: relay of a file through Parley against raw TCP over loopback', settings: {}, ratios: {}, rounds: [], tables: [] };
  if (!existsSync(join(REPO_DIR, 'src/server/files')) || !existsSync(join(BENCH_DIR, 'file-relay.ts'))) {
    return { ...base, status: 'pending', parley: null, peers: {}, targets: [], notes: ['pending: file transfer (issue 4) has not landed in the server yet'] };
  }
  const mib = ctx.quick ? 256 : 1024;
  const runs: RelayResult[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    await ctx.settle(`files round ${round + 1}`);
    const r = await relayOnce(mib);
    runs.push(r);
    ctx.log(
      `    raw TCP ${r.rawTcp.toFixed(0)} MB/s; Parley upload ${r.upload.toFixed(0)} MB/s, download ${r.download.toFixed(0)} MB/s, ` +
        `upload then download ${r.relay.toFixed(0)} MB/s; server peak RSS ${r.serverPeakRssMb.toFixed(0)} MB (idle ${r.serverIdleRssMb.toFixed(0)} MB)`,
    );
  }
  const m = (pick: (r: RelayResult) => number) => median(runs.map(pick));
  // Each leg goes through the server (client -> server disk, server disk -> client); the slower
  // leg is the relay's throughput. Upload then download back to back is what a person waits.
  const leg = (r: RelayResult) => Math.min(r.upload, r.download);
  const parley = {
    megabytes: (mib * 1024 * 1024) / 1e6,
    uploadMBps: m((r) => r.upload),
    downloadMBps: m((r) => r.download),
    slowerLegMBps: m(leg),
    uploadThenDownloadMBps: m((r) => r.relay),
    senderHashMBps: m((r) => r.senderHash),
    serverPeakRssMb: m((r) => r.serverPeakRssMb),
    serverIdleRssMb: m((r) => r.serverIdleRssMb),
  };
  const rawTcp = m((r) => r.rawTcp);
  const ratio = roundRatios(runs.map(leg), runs.map((r) => r.rawTcp));
  const endToEnd = roundRatios(runs.map((r) => r.relay), runs.map((r) => r.rawTcp));
  const row = (what: string, value: number, r?: { perRound: number[]; median: number }) => [
    what,
    `${value.toFixed(0)} MB/s`,
    r ? fmtRatio(r.median) : '',
    r ? r.perRound.map(fmtRatio).join(' ') : '',
  ];
  return {
    ...base,
    title: `files: a ${mib} MiB file relayed through Parley against raw TCP over loopback`,
    status: 'done',
    settings: { mib, rounds: ctx.rounds, pinned: false, measuredBy: 'bench/file-relay.ts' },
    parley,
    peers: { 'raw-tcp': { MBps: rawTcp } },
    ratios: { 'slower-leg:raw-tcp': ratio, 'upload-then-download:raw-tcp': endToEnd },
    targets: [
      { target: 'files', goal: 'relay >= 0.5x raw TCP (slower leg)', value: fmtRatio(ratio.median), met: ratio.median >= 0.5, gap: gapAtLeast(ratio.median, 0.5) },
      {
        target: 'files',
        goal: `server peak RSS <= ${RSS_GOAL_MB} MB`,
        value: `${parley.serverPeakRssMb.toFixed(0)} MB`,
        met: parley.serverPeakRssMb <= RSS_GOAL_MB,
        gap: gapAtMost(parley.serverPeakRssMb, RSS_GOAL_MB, 'MB'),
      },
    ],
    rounds: runs,
    notes: ['not pinned to one core: the relay runs client and server side by side on all cores (bench/file-relay.ts)'],
    tables: [
      {
        title: `files: ${mib} MiB, medians of ${ctx.rounds} round(s) (raw TCP and Parley alternate within each round)`,
        columns: ['transfer', 'throughput', 'Parley/raw TCP', 'per round'],
        rows: [
          row('raw TCP: file -> socket -> another process', rawTcp),
          row('Parley upload (server hashes + writes)', parley.uploadMBps),
          row('Parley download (client hashes + writes)', parley.downloadMBps),
          row('Parley relay, slower leg', parley.slowerLegMBps, ratio),
          row('Parley upload then download, end to end', parley.uploadThenDownloadMBps, endToEnd),
          ['server peak RSS (accounts made before it started)', `${parley.serverPeakRssMb.toFixed(0)} MB`, '', ''],
          ['server RSS when started, before any transfer', `${parley.serverIdleRssMb.toFixed(0)} MB`, '', ''],
        ],
      },
    ],
  };
}
