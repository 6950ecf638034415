/**
 * `npm run bench`: Parley against reference peers, scenario by scenario, in alternating rounds.
 * See docs/PERFORMANCE.md for what each scenario measures and the latest results.
 *
 *   npm run bench                       full run (both client counts, 3 rounds)
 *   npm run bench -- --quick            a few minutes: fewer rounds, shorter steps
 *   npm run bench -- --only fanout,dm   some scenarios
 *   npm run bench -- --json out.json    machine-readable results
 *   npm run bench -- --connections 15000 --rounds 2 --profile
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chatScenario } from './scenarios/chat.ts';
import { clusterScenario } from './scenarios/cluster.ts';
import { connectionsScenario } from './scenarios/connections.ts';
import { filesScenario } from './scenarios/files.ts';
import { historyScenario } from './scenarios/history.ts';
import { ingestScenario } from './scenarios/ingest.ts';
import { loginScenario } from './scenarios/login.ts';
import { startupScenario } from './scenarios/startup.ts';
import { detectPinning, hardFileLimit, pinSelf, waitForQuiet } from './lib/processes.ts';
import { renderTable, type BenchContext, type ScenarioReport } from './lib/report.ts';
import { benchTempDir } from './lib/seed.ts';

type Scenario = (ctx: BenchContext) => Promise<Omit<ScenarioReport, 'seconds'>>;

const SCENARIOS: Record<string, Scenario> = {
  fanout: (ctx) => chatScenario(ctx, 'world'),
  dm: (ctx) => chatScenario(ctx, 'dm'),
  connections: connectionsScenario,
  history: historyScenario,
  ingest: ingestScenario,
  files: filesScenario,
  login: loginScenario,
  startup: startupScenario,
  cluster: clusterScenario,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`usage: npm run bench -- [--quick] [--only ${Object.keys(SCENARIOS).join(',')}] [--json <file>]
                       [--connections N] [--rounds N] [--profile]`);
  process.exit(0);
}

const only = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SCENARIOS);
for (const name of only) {
  if (!SCENARIOS[name]) {
    console.error(`unknown scenario "${name}"; scenarios: ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
}

const pinning = detectPinning();
pinSelf(pinning);
const quick = values.quick ?? false;
const maxConnections = hardFileLimit() - 512;
const wantedConnections = Number(values.connections ?? (quick ? 4000 : 10_000));
if (!Number.isInteger(wantedConnections) || wantedConnections < 1) throw new Error('--connections takes a whole number');
const connections = Math.min(wantedConnections, maxConnections);
// Profiles are large and machine-specific: they go to a temporary folder, not the repository.
const profileDir = values.profile ? join(tmpdir(), 'parley-bench', `profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`) : null;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const ctx: BenchContext = {
  pinning,
  quick,
  rounds: Number(values.rounds ?? (quick ? 2 : 3)),
  connections,
  profileDir,
  log: (line) => console.log(line),
  settle: async (label) => {
    // Bounded: on a machine someone else keeps busy, waiting longer would not make it quiet, and
    // the per-step disturbance check (scenarios/chat.ts) and per-round ratios cope with the rest.
    const { busy, waitedMs } = await waitForQuiet(quick ? 15_000 : 30_000);
    settles.push({ label, busy, waitedMs });
    if (waitedMs > 1500 || busy > 0.15) {
      console.log(`    (${label}: waited ${(waitedMs / 1000).toFixed(0)} s for other work on the machine; CPUs ${Math.round(busy * 100)}% busy when it started)`);
    }
  },
};
const settles: { label: string; busy: number; waitedMs: number }[] = [];

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  os: `${platform()} ${release()} ${arch()}`,
  node: process.version,
  openFileLimit: hardFileLimit(),
};
const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
})();

console.log(`Parley benchmark (${quick ? 'quick' : 'full'}), ${new Date().toISOString()}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`);
console.log(`pinning: ${pinning.description}`);
if (connections < wantedConnections) {
  console.log(`connections: capped at ${connections} by the open-file hard limit (${machine.openFileLimit}); raise it (ulimit -Hn) for more`);
}
console.log(`scenarios: ${only.join(', ')}; ${ctx.rounds} round(s) each, Parley and its references alternating`);
if (profileDir) console.log(`profiling Parley with --cpu-prof into ${profileDir}`);
console.log('');

const started = Date.now();
const reports: ScenarioReport[] = [];
for (const name of only) {
  console.log(`== ${name}`);
  const t0 = Date.now();
  let report: ScenarioReport;
  try {
    report = { ...(await SCENARIOS[name]!(ctx)), seconds: (Date.now() - t0) / 1000 };
  } catch (error) {
    console.error(`  ${name} failed: ${(error as Error).stack ?? error}`);
    report = {
      scenario: name,
      title: name,
      status: 'failed',
      settings: {},
      parley: null,
      peers: {},
      ratios: {},
      targets: [],
      rounds: [],
      notes: [`failed: ${(error as Error).message}`],
      tables: [],
      seconds: (Date.now() - t0) / 1000,
    };
  }
  reports.push(report);
  printReport(report);
}

console.log('\n== targets');
for (const report of reports) {
  for (const t of report.targets) {
    console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.target}: ${t.goal}: ${t.value}${t.gap ? ` (${t.gap})` : ''}`);
  }
}
console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);

if (values.json) {
  const file = resolve(values.json);
  const output = {
    benchmark: 'parley',
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    commit,
    machine,
    pinning: pinning.description,
    rounds: ctx.rounds,
    seconds: (Date.now() - started) / 1000,
    // How busy the machine was (other work) just before each measurement started.
    backgroundLoad: settles,
    scenarios: Object.fromEntries(reports.map((r) => [r.scenario, r])),
  };
  writeFileSync(file, `${JSON.stringify(output, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  console.log(`wrote ${file}`);
}

function printReport(report: ScenarioReport): void {
  console.log(`\n${report.title} (${report.seconds.toFixed(0)} s)`);
  for (const table of report.tables) console.log(`\n${renderTable(table)}`);
  for (const note of report.notes) console.log(`  note: ${note}`);
  console.log('');
}
