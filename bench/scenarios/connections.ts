import { rmSync } from 'node:fs';
import type { ConnectResult } from '../load/chat-load.ts';
import { sleep, spawnLoad, stopProcess } from '../lib/processes.ts';
import { fmtBytes, fmtPercent, fmtRate, fmtRatio, gapAtMost, rotate, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { benchTempDir, copyDataDir, seedDataDir, type Seeded } from '../lib/seed.ts';
import { hotSpotTables, profileDirFor } from '../lib/profiles.ts';
import { startServer } from '../lib/servers.ts';
import { PEERS, TARGETS, type Target } from '../lib/targets.ts';
import { median, roundRatios } from '../stats.ts';
import { PLACEHOLDER_HASH } from './chat.ts';

/**
 * `connections`: ramp idle connections (authenticated and greeted, for Parley) up to the
 * requested count and measure what each costs the server: RSS and V8 heap after a forced GC,
 * against the same server with none, divided by the count. Also how long they took to connect.
 */
interface ConnectionsRun {
  target: Target;
  round: number;
  connect: ConnectResult;
  rssPerConnection: number;
  heapPerConnection: number;
  externalPerConnection: number;
  /** Growth from half to all of the connections, per connection: leaves out fixed costs of any load, but RSS after a GC is coarse. */
  rssPerConnectionMarginal: number;
  heapPerConnectionMarginal: number;
  rssWithConnections: number;
  peakRss: number;
}

const KB_GOAL = 10 * 1024;

async function measure(ctx: BenchContext, target: Target, seeded: Seeded, round: number): Promise<ConnectionsRun> {
  const n = seeded.users.length;
  await ctx.settle(`connections ${target}`);
  const dataDir = target === 'parley' ? copyDataDir(seeded, 'conn') : undefined;
  const cpuProfDir = target === 'parley' ? profileDirFor(ctx, 'connections') : undefined;
  const server = await startServer(target, ctx.pinning, { ...(dataDir ? { dataDir } : {}), nofile: n + 1024, ...(cpuProfDir ? { cpuProfDir } : {}) });
  const load = spawnLoad(ctx.pinning, n + 1024);
  try {
    await sleep(300);
    const before = await server.memory();
    // Memory per connection: everything the server grew by, divided by the connections. The
    // growth over the second half alone is reported too: there, fixed costs that come with any
    // load (V8 growing its young generation, allocator pools) cancel out.
    const half = Math.floor(n / 2);
    const first = await load.rpc.call<ConnectResult>('chat.connect', {
      target,
      port: server.port,
      users: seeded.users.slice(0, half),
      mode: 'idle',
      sampleClients: 0,
      concurrency: 100,
    });
    await sleep(1500); // the arrival's presence frames go out; then an idle server is measured
    const mid = await server.memory();
    const second = await load.rpc.call<ConnectResult>('chat.add', seeded.users.slice(half));
    await sleep(1500);
    const after = await server.memory();
    const { peakRss } = server.rss();
    const open = await load.rpc.call<number>('chat.open');
    const ms = first.ms + second.ms;
    const connected = first.connected + second.connected;
    const connect: ConnectResult = {
      connected,
      failed: first.failed + second.failed,
      firstError: first.firstError ?? second.firstError,
      ms,
      perSecond: (connected * 1000) / ms,
      generatorCpu: (first.generatorCpu * first.ms + second.generatorCpu * second.ms) / ms,
    };
    const slope = (a: number, b: number) => (a - b) / Math.max(1, second.connected);
    ctx.log(
      `    ${target.padEnd(10)} ${open} open in ${(ms / 1000).toFixed(1)} s (${fmtRate(connect.perSecond)}/s), ` +
        `RSS +${fmtBytes((after.rss - before.rss) / Math.max(1, open))}/conn, heap +${fmtBytes((after.heapUsed - before.heapUsed) / Math.max(1, open))}/conn ` +
        `(second half alone: RSS +${fmtBytes(slope(after.rss, mid.rss))}/conn)` +
        (connect.failed ? `, ${connect.failed} FAILED (${connect.firstError})` : ''),
    );
    return {
      target,
      round,
      connect,
      rssPerConnection: (after.rss - before.rss) / Math.max(1, open),
      heapPerConnection: (after.heapUsed - before.heapUsed) / Math.max(1, open),
      externalPerConnection: (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / Math.max(1, open),
      rssPerConnectionMarginal: slope(after.rss, mid.rss),
      heapPerConnectionMarginal: slope(after.heapUsed, mid.heapUsed),
      rssWithConnections: after.rss,
      peakRss,
    };
  } finally {
    await load.rpc.call('exit').catch(() => {});
    await stopProcess(load.child);
    await server.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function connectionsScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const n = ctx.connections;
  const seeded = seedDataDir(benchTempDir('conn-seed'), { users: n, passwordHash: PLACEHOLDER_HASH });
  const runs = new Map<Target, ConnectionsRun[]>(TARGETS.map((t) => [t, []]));
  try {
    for (let round = 0; round < ctx.rounds; round++) {
      ctx.log(`   round ${round + 1}/${ctx.rounds}: ${n} connections`);
      for (const target of rotate(TARGETS, round)) runs.get(target)!.push(await measure(ctx, target, seeded, round));
    }
  } finally {
    rmSync(seeded.dir, { recursive: true, force: true });
  }
  const figures = (t: Target) => {
    const list = runs.get(t)!;
    const m = (pick: (r: ConnectionsRun) => number) => median(list.map(pick));
    return {
      connections: m((r) => r.connect.connected),
      failed: m((r) => r.connect.failed),
      connectSeconds: m((r) => r.connect.ms / 1000),
      connectsPerSecond: m((r) => r.connect.perSecond),
      generatorCpu: m((r) => r.connect.generatorCpu),
      rssPerConnection: m((r) => r.rssPerConnection),
      heapPerConnection: m((r) => r.heapPerConnection),
      externalPerConnection: m((r) => r.externalPerConnection),
      rssPerConnectionMarginal: m((r) => r.rssPerConnectionMarginal),
      heapPerConnectionMarginal: m((r) => r.heapPerConnectionMarginal),
      rssWithConnections: m((r) => r.rssWithConnections),
      peakRss: m((r) => r.peakRss),
    };
  };
  const all = Object.fromEntries(TARGETS.map((t) => [t, figures(t)])) as Record<Target, ReturnType<typeof figures>>;
  const series = (t: Target, pick: (r: ConnectionsRun) => number) => runs.get(t)!.map(pick);
  const ratios: ScenarioReport['ratios'] = {};
  for (const p of PEERS) {
    ratios[`rssPerConnection:${p}`] = roundRatios(series('parley', (r) => r.rssPerConnection), series(p, (r) => r.rssPerConnection));
    ratios[`connectsPerSecond:${p}`] = roundRatios(series('parley', (r) => r.connect.perSecond), series(p, (r) => r.connect.perSecond));
  }
  const parleyRss = all.parley.rssPerConnection;
  const profiled = hotSpotTables(profileDirFor(ctx, 'connections'), 'connections');
  return {
    scenario: 'connections',
    title: `connections: ${n} idle connections (Parley: authenticated, greeted, in the world chat), opened 100 at a time`,
    status: 'done',
    settings: { connections: n, rounds: ctx.rounds, concurrency: 100 },
    parley: all.parley,
    peers: Object.fromEntries(PEERS.map((p) => [p, all[p]])),
    ratios,
    targets: [
      {
        target: 'connections',
        goal: '<= 10 KB server memory (RSS) per idle authenticated connection',
        value: fmtBytes(parleyRss),
        met: parleyRss <= KB_GOAL,
        gap: gapAtMost(parleyRss / 1024, 10, 'KB'),
      },
    ],
    rounds: [...runs.values()].flat(),
    notes: [],
    tables: [
      {
        title:
          `connections: ${n} idle connections, medians of ${ctx.rounds} round(s); memory after a forced GC: (with ${n} - with none) / ${n}, ` +
          `and the second half alone`,
        columns: ['server', 'connected', 'time', 'connects/s', 'gen CPU', 'RSS/conn', 'heap/conn', 'buffers/conn', 'RSS/conn 2nd half', 'RSS total', 'Parley RSS/this'],
        rows: TARGETS.map((t) => [
          t,
          String(all[t].connections),
          `${all[t].connectSeconds.toFixed(1)} s`,
          fmtRate(all[t].connectsPerSecond),
          fmtPercent(all[t].generatorCpu),
          fmtBytes(all[t].rssPerConnection),
          fmtBytes(all[t].heapPerConnection),
          fmtBytes(all[t].externalPerConnection),
          fmtBytes(all[t].rssPerConnectionMarginal),
          fmtBytes(all[t].rssWithConnections),
          t === 'parley' ? '' : fmtRatio(ratios[`rssPerConnection:${t}`]!.median),
        ]),
      },
      ...profiled.tables,
    ],
    ...(profiled.json ? { hotSpots: profiled.json } : {}),
  };
}
