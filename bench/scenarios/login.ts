import { rmSync } from 'node:fs';
import type { ConnectResult, StepResult } from '../load/chat-load.ts';
import type { StormResult } from '../load/login-load.ts';
import { runTool, sleep, spawnLoad, stopProcess } from '../lib/processes.ts';
import { fmtMs, fmtPercent, fmtRate, fmtRatio, gapAtMost, type BenchContext, type ScenarioReport } from '../lib/report.ts';
import { benchTempDir, copyDataDir, seedDataDir } from '../lib/seed.ts';
import { hotSpotTables, profileDirFor } from '../lib/profiles.ts';
import { startServer } from '../lib/servers.ts';
import { median, roundRatios, type LatencySummary } from '../stats.ts';
import { hashPassword } from '../../src/server/accounts/passwords.ts';

/**
 * `login`: a storm of logins, each an argon2id verification at OWASP cost, against a server
 * that is also carrying chat. Chat latency is measured before and during the storm, to show
 * that hashing stays off the event loop; the reference is the same verifications done
 * back to back on the server core with nothing else (the hashing ceiling).
 */
const PASSWORD = 'correct horse battery staple';
const ACCOUNTS = 200;
const CHAT_CLIENTS = 20;
const CHAT_RATE = 200;
const STORM_CONCURRENCY = 16;
const POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

interface LoginRun {
  storm: StormResult;
  chatBefore: StepResult;
  chatDuring: StepResult;
}

export async function loginScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const seconds = ctx.quick ? 3 : 10;
  const hash = await hashPassword(PASSWORD);
  const seeded = seedDataDir(benchTempDir('login-seed'), { users: ACCOUNTS, passwordHash: hash });
  const runs: LoginRun[] = [];
  const ceilings: { perSecond: number; latency: LatencySummary }[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round++) {
      for (const which of round % 2 === 0 ? ['parley', 'ceiling'] : ['ceiling', 'parley']) {
        await ctx.settle(`login ${which}`);
        if (which === 'ceiling') {
          const c = await runTool<{ perSecond: number; latency: LatencySummary }>(ctx.pinning, 'argon2-ceiling.ts', {
            hash,
            password: PASSWORD,
            concurrency: POOL,
            durationMs: seconds * 1000,
          });
          ceilings.push(c);
          ctx.log(`    argon2     ${c.perSecond.toFixed(1)} verifications/s, p99 ${fmtMs(c.latency.p99)} ms`);
          continue;
        }
        const dataDir = copyDataDir(seeded, 'login');
        const cpuProfDir = profileDirFor(ctx, 'login');
        const server = await startServer('parley', ctx.pinning, { dataDir, ...(cpuProfDir ? { cpuProfDir } : {}) });
        const load = spawnLoad(ctx.pinning);
        try {
          const connect = await load.rpc.call<ConnectResult>('chat.connect', {
            target: 'parley',
            port: server.port,
            users: seeded.users.slice(0, CHAT_CLIENTS),
            mode: 'world',
            sampleClients: CHAT_CLIENTS,
            concurrency: 10,
          });
          if (connect.failed) throw new Error(`chat clients failed to connect: ${connect.firstError}`);
          await sleep(200);
          const step = { rate: CHAT_RATE, warmupMs: 500, measureMs: seconds * 1000, drainMs: 2000, serverPid: server.pid };
          const chatBefore = await load.rpc.call<StepResult>('chat.step', step);
          const [storm, chatDuring] = await Promise.all([
            load.rpc.call<StormResult>('login.storm', {
              port: server.port,
              names: seeded.users.map((u) => u.name),
              password: PASSWORD,
              concurrency: STORM_CONCURRENCY,
              durationMs: seconds * 1000 + 1000,
            }),
            load.rpc.call<StepResult>('chat.step', step),
          ]);
          runs.push({ storm, chatBefore, chatDuring });
          ctx.log(
            `    parley     ${storm.perSecond.toFixed(1)} logins/s (p99 ${fmtMs(storm.latency.p99)} ms, ${storm.failures} failed); ` +
              `chat p99 ${fmtMs(chatBefore.latency.p99)} ms before, ${fmtMs(chatDuring.latency.p99)} ms during; server CPU ${fmtPercent(chatDuring.serverCpu)}`,
          );
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
  const m = (pick: (r: LoginRun) => number) => median(runs.map(pick));
  const parley = {
    loginsPerSecond: m((r) => r.storm.perSecond),
    loginP50: m((r) => r.storm.latency.p50),
    loginP99: m((r) => r.storm.latency.p99),
    failures: m((r) => r.storm.failures),
    chatBefore: { p50: m((r) => r.chatBefore.latency.p50), p99: m((r) => r.chatBefore.latency.p99) },
    chatDuring: { p50: m((r) => r.chatDuring.latency.p50), p99: m((r) => r.chatDuring.latency.p99) },
    serverCpuDuring: m((r) => r.chatDuring.serverCpu),
  };
  const ceiling = { perSecond: median(ceilings.map((c) => c.perSecond)), p99: median(ceilings.map((c) => c.latency.p99)) };
  const ratio = roundRatios(runs.map((r) => r.storm.perSecond), ceilings.map((c) => c.perSecond));
  const during = parley.chatDuring.p99;
  const profiled = hotSpotTables(profileDirFor(ctx, 'login'), 'login');
  return {
    scenario: 'login',
    title: `login: ${STORM_CONCURRENCY} concurrent login loops over ${ACCOUNTS} accounts for ${seconds} s, while ${CHAT_CLIENTS} clients chat at ${CHAT_RATE} msgs/s`,
    status: 'done',
    settings: { accounts: ACCOUNTS, stormConcurrency: STORM_CONCURRENCY, chatClients: CHAT_CLIENTS, chatRate: CHAT_RATE, seconds, threadPool: POOL, rounds: ctx.rounds },
    parley,
    peers: { 'argon2-ceiling': ceiling },
    ratios: { 'argon2-ceiling': ratio },
    targets: [
      {
        target: 'login',
        goal: 'chat p99 stays <= 50 ms during the login storm (hashing off the event loop)',
        value: `${fmtMs(during)} ms (before: ${fmtMs(parley.chatBefore.p99)} ms)`,
        met: during <= 50,
        gap: gapAtMost(during, 50, 'ms'),
      },
    ],
    rounds: runs.map((r, i) => ({ round: i, ...r, ceiling: ceilings[i] })),
    notes: [],
    tables: [
      {
        title: `login: medians of ${ctx.rounds} round(s)`,
        columns: ['what', 'per second', 'p50 ms', 'p99 ms', 'Parley/this'],
        rows: [
          ['Parley logins (HTTP, argon2id verify, session)', fmtRate(parley.loginsPerSecond), fmtMs(parley.loginP50), fmtMs(parley.loginP99), ''],
          [`argon2id verify alone, ${POOL} at a time (ceiling)`, fmtRate(ceiling.perSecond), '', fmtMs(ceiling.p99), fmtRatio(ratio.median)],
          [`chat before the storm (${CHAT_RATE} msgs/s)`, '', fmtMs(parley.chatBefore.p50), fmtMs(parley.chatBefore.p99), ''],
          ['chat during the storm', '', fmtMs(parley.chatDuring.p50), fmtMs(parley.chatDuring.p99), ''],
        ],
      },
      ...profiled.tables,
    ],
    ...(profiled.json ? { hotSpots: profiled.json } : {}),
  };
}
