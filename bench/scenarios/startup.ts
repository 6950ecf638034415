import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { benchTempDir } from '../lib/seed.ts';
import { REPO_DIR, cpuSeconds, freePort, memoryOf, sleep, spawnNode, stopProcess } from '../lib/processes.ts';
import { fmtBytes, fmtMs, gapAtMost, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { median } from '../stats.ts';

/**
 * `startup`: how fast a fresh `parley serve` answers /healthz, and how much memory it holds
 * once idle, as an operator runs it: the compiled package (`npm run build`, dist/cli/run.js)
 * with its default settings and an empty data folder; the targets are judged on that first
 * start. A restart on the folder a first start left (no database to create) is reported beside
 * it, and the same code run from the sources through tsx (how a checkout's `npx parley` runs) is
 * the reference.
 */
const START_GOAL_MS = 500;
const IDLE_RSS_GOAL_MB = 70;

/**
 * `compiled`: a first start, on an empty data folder (the database is created and migrated).
 * `restart`: the compiled server again on the data folder a first start left (what an operator's
 * restarts and upgrades do). `tsx`: a first start from the sources.
 */
type Way = 'compiled' | 'restart' | 'tsx';
const ENTRY: Record<Way, { script: string; nodeFlags: string[] }> = {
  compiled: { script: 'dist/cli/run.js', nodeFlags: [] },
  restart: { script: 'dist/cli/run.js', nodeFlags: [] },
  tsx: { script: 'src/cli/run.ts', nodeFlags: ['--import', 'tsx'] },
};

interface StartRun {
  way: Way;
  startMs: number;
  /** CPU (user + system) the process used until /healthz answered: what a busy machine does not inflate. */
  startCpuMs: number;
  idleRss: number;
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {
    return false;
  }
}

async function measure(ctx: BenchContext, way: Way, idleMs: number): Promise<StartRun> {
  const dataDir = benchTempDir('startup');
  try {
    if (way === 'restart') {
      const first = await start(ctx, 'compiled', dataDir);
      await stopProcess(first.child);
    }
    const { child, startMs, startCpuMs } = await start(ctx, way, dataDir);
    try {
      await sleep(idleMs);
      return { way, startMs, startCpuMs, idleRss: memoryOf(child.pid!).rss };
    } finally {
      await stopProcess(child);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Starts `parley serve` and returns once /healthz answers, with the wall time and the CPU it took. */
async function start(ctx: BenchContext, way: Way, dataDir: string) {
  const port = await freePort();
  const started = performance.now();
  const child = spawnNode(ENTRY[way].script, ['serve', '--port', String(port), '--data', dataDir, '--log-level', 'warn'], {
    cpus: ctx.pinning.serverCpus,
    nodeFlags: ENTRY[way].nodeFlags,
  });
  try {
    while (!(await healthy(port))) {
      if (child.exitCode !== null) throw new Error(`parley (${way}) exited with ${child.exitCode} before /healthz answered`);
      if (performance.now() - started > 30_000) throw new Error(`parley (${way}) did not answer /healthz within 30 s`);
      await sleep(5);
    }
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { child, startMs: performance.now() - started, startCpuMs: cpuSeconds(child.pid!) * 1000 };
}

export async function startupScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--if-stale'], { cwd: REPO_DIR, stdio: 'inherit' });
  const idleMs = ctx.quick ? 3000 : 10_000;
  // A median of five at least, quick or not: one start is short, and a busy machine scatters them.
  const starts = ctx.quick ? 5 : 7;
  const loadBefore = loadavg()[0]!;
  const runs: StartRun[] = [];
  for (let round = 0; round < starts; round++) {
    for (const way of round % 2 === 0 ? (['compiled', 'restart', 'tsx'] as const) : (['tsx', 'restart', 'compiled'] as const)) {
      await ctx.settle(`startup ${way}`);
      const run = await measure(ctx, way, idleMs);
      runs.push(run);
      ctx.log(`    ${way.padEnd(8)}  /healthz after ${fmtMs(run.startMs)} ms (${fmtMs(run.startCpuMs)} ms CPU), idle RSS ${fmtBytes(run.idleRss)}`);
    }
  }
  const summary = (way: Way) => {
    const mine = runs.filter((run) => run.way === way);
    return {
      startMs: median(mine.map((run) => run.startMs)),
      startCpuMs: median(mine.map((run) => run.startCpuMs)),
      idleRss: median(mine.map((run) => run.idleRss)),
    };
  };
  const loadAfter = loadavg()[0]!;
  const compiled = summary('compiled');
  const restart = summary('restart');
  const tsx = summary('tsx');
  const rssMb = compiled.idleRss / 1024 ** 2;
  return {
    scenario: 'startup',
    title: `Start to /healthz and idle memory, empty data folder and restart (median of ${starts} starts)`,
    status: 'done',
    settings: { idleMs, starts, loadBefore: Number(loadBefore.toFixed(2)), loadAfter: Number(loadAfter.toFixed(2)) },
    parley: compiled,
    peers: { restart, tsx },
    ratios: {},
    targets: [
      {
        target: 'start to /healthz',
        goal: `≤ ${START_GOAL_MS} ms`,
        value: `${fmtMs(compiled.startMs)} ms`,
        met: compiled.startMs <= START_GOAL_MS,
        gap: gapAtMost(compiled.startMs, START_GOAL_MS, 'ms'),
      },
      {
        target: 'idle RSS',
        goal: `≤ ${IDLE_RSS_GOAL_MB} MB`,
        value: fmtBytes(compiled.idleRss),
        met: rssMb <= IDLE_RSS_GOAL_MB,
        gap: gapAtMost(rssMb, IDLE_RSS_GOAL_MB, 'MB'),
      },
    ],
    rounds: runs,
    notes: [
      `idle RSS read from /proc ${idleMs / 1000} s after /healthz first answered, with no client connected`,
      // The wall time waits for a CPU on a busy machine; the CPU until /healthz barely does. Both are reported, with the load.
      `load average (1 min) ${loadBefore.toFixed(1)} before the starts, ${loadAfter.toFixed(1)} after, on ${ctx.pinning.description}`,
    ],
    tables: [
      {
        title: 'parley serve',
        columns: ['how it runs', 'start to /healthz', 'CPU until then', 'idle RSS'],
        rows: [
          ['compiled (npm start, installed package)', `${fmtMs(compiled.startMs)} ms`, `${fmtMs(compiled.startCpuMs)} ms`, fmtBytes(compiled.idleRss)],
          ['compiled, restarted on its data folder', `${fmtMs(restart.startMs)} ms`, `${fmtMs(restart.startCpuMs)} ms`, fmtBytes(restart.idleRss)],
          ['sources through tsx (npx parley in a checkout)', `${fmtMs(tsx.startMs)} ms`, `${fmtMs(tsx.startCpuMs)} ms`, fmtBytes(tsx.idleRss)],
        ],
      },
    ],
  };
}
