import type { ChildProcess } from 'node:child_process';
import { BENCH_DIR, freePort, memoryOf, spawnNode, stopProcess, waitForPort, type Pinning } from './processes.ts';
import { RpcClient } from './rpc.ts';
import type { Target } from './targets.ts';

/**
 * Starts one server under test as its own process on the server core, with the memory probe
 * loaded (bench/lib/probe.ts). Parley runs through its real entry point (`bin/parley.js
 * serve`) with its real defaults, except the per-connection send rate limit (10/s for
 * people), which a load generator playing 1,000 users from one address would trip.
 */
export interface ServerUnderTest {
  target: Target;
  port: number;
  pid: number;
  child: ChildProcess;
  /** In-process memory after a forced GC. */
  memory(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }>;
  /** Current and peak RSS from /proc. */
  rss(): { rss: number; peakRss: number };
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Parley's data folder. */
  dataDir?: string;
  nofile?: number;
  /** Extra flags: Parley's, or a peer's (`--redis URL` for the cluster scenario). */
  flags?: string[];
  /** Write a V8 CPU profile into this folder on exit. */
  cpuProfDir?: string;
}

export const PARLEY_BENCH_FLAGS = ['--log-level', 'warn', '--send-rate', '1000000', '--send-burst', '1000000'];

export async function startServer(target: Target, pinning: Pinning, options: StartOptions = {}): Promise<ServerUnderTest> {
  const port = await freePort();
  const nodeFlags = ['--expose-gc', '--import', 'tsx', '--import', `${BENCH_DIR}lib/probe.ts`];
  if (options.cpuProfDir) nodeFlags.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  // Extra flags for every server's Node.js, for a tool run by hand: --perf-basic-prof for perf, --trace-deopt.
  if (process.env.PARLEY_BENCH_NODE_FLAGS) nodeFlags.push(...process.env.PARLEY_BENCH_NODE_FLAGS.split(' '));
  let script: string;
  let args: string[];
  if (target === 'parley') {
    if (!options.dataDir) throw new Error('Parley needs a data folder');
    script = 'bin/parley.js';
    args = ['serve', '--port', String(port), '--data', options.dataDir, ...PARLEY_BENCH_FLAGS, ...(options.flags ?? [])];
  } else {
    script = `${BENCH_DIR}peers/${target}.ts`;
    args = ['--port', String(port), ...(options.flags ?? [])];
  }
  const child = spawnNode(script, args, { cpus: pinning.serverCpus, nofile: options.nofile ?? 4096, ipc: true, nodeFlags });
  const rpc = new RpcClient(child);
  try {
    await waitForPort(port, child);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    target,
    port,
    pid: child.pid!,
    child,
    memory: () => rpc.call('memory', null, 60_000),
    rss: () => memoryOf(child.pid!),
    stop: () => stopProcess(child),
  };
}
