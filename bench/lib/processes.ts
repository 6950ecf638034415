import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RpcClient } from './rpc.ts';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Which cores the servers under test and the load generators run on. With taskset and two or
 * more cores, every server gets core 0 to itself and everything else (generators, the runner)
 * shares core 1, so a generator never steals the server's CPU.
 */
export interface Pinning {
  enabled: boolean;
  serverCpus: string;
  loadCpus: string;
  description: string;
}

export function detectPinning(): Pinning {
  const cores = availableParallelism();
  const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
  if (!hasTaskset || cores < 2) {
    return {
      enabled: false,
      serverCpus: '',
      loadCpus: '',
      description: `not pinned (${hasTaskset ? `only ${cores} core` : 'taskset not available'}): servers and generators share the CPU`,
    };
  }
  return {
    enabled: true,
    serverCpus: '0',
    loadCpus: cores > 2 ? `1-${cores - 1}` : '1',
    description: `taskset: server under test on CPU 0, load generators and runner on CPU ${cores > 2 ? `1-${cores - 1}` : '1'}`,
  };
}

/** Moves this process (all its threads) onto the generator cores. */
export function pinSelf(pinning: Pinning): void {
  if (pinning.enabled) spawnSync('taskset', ['-a', '-cp', pinning.loadCpus, String(process.pid)], { stdio: 'ignore' });
}

/** The open-file limit a spawned process may raise itself to (its hard limit). */
export function hardFileLimit(): number {
  const out = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? 1 << 20 : Number(out) || 1024;
}

export interface SpawnOptions {
  cpus: string;
  /** Raise the soft open-file limit to this (capped at the hard limit). */
  nofile?: number;
  ipc?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags before the script. */
  nodeFlags?: string[];
}

/** Starts `node [flags] script args` pinned to `cpus`, through bash so it can raise its file limit first. */
export function spawnNode(script: string, args: string[], options: SpawnOptions): ChildProcess {
  const nofile = Math.min(options.nofile ?? 4096, hardFileLimit());
  const pin = options.cpus ? ['taskset', '-c', options.cpus] : [];
  const command = [...pin, process.execPath, ...(options.nodeFlags ?? []), script, ...args];
  // exec keeps the pid: the pid we hold is the node process we measure.
  return spawn('bash', ['-c', 'ulimit -n "$1" && shift && exec "$@"', 'bash', String(nofile), ...command], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'inherit', 'inherit', ...(options.ipc ? (['ipc'] as const) : [])],
    env: { ...process.env, ...options.env },
  });
}

const TSX = ['--import', 'tsx'];

/** A load generator process on the generator cores, driven over IPC. */
export function spawnLoad(pinning: Pinning, nofile = 4096): { child: ChildProcess; rpc: RpcClient } {
  // PARLEY_BENCH_PROFILE_LOAD=<dir> profiles the generators too (to check they are not the limit).
  const profile = process.env.PARLEY_BENCH_PROFILE_LOAD;
  const nodeFlags = profile ? [...TSX, '--cpu-prof', '--cpu-prof-dir', profile] : TSX;
  const child = spawnNode(`${BENCH_DIR}load/worker.ts`, [], { cpus: pinning.loadCpus, nofile, ipc: true, nodeFlags });
  return { child, rpc: new RpcClient(child) };
}

/** A one-shot measuring tool (SQLite or argon2 ceiling) on the server core; resolves with its JSON output. */
export function runTool<T>(pinning: Pinning, script: string, params: unknown): Promise<T> {
  const child = spawnNode(`${BENCH_DIR}tools/${script}`, [], { cpus: pinning.serverCpus, ipc: true, nodeFlags: TSX });
  const rpc = new RpcClient(child);
  return rpc.call<T>('run', params).finally(() => child.kill('SIGTERM'));
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * The fields of a /proc stat file after the command name (which may contain spaces, so they
 * start after the last ')'): [11] user and [12] system time in clock ticks. Null when it is gone.
 */
function statFields(path: string): string[] | null {
  try {
    const stat = readFileSync(path, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds from a stat file's fields (user + system, or system alone); NaN when it is gone. */
const ticksToSeconds = (fields: string[] | null, which: 'user+system' | 'system') =>
  fields ? ((which === 'system' ? 0 : Number(fields[11])) + Number(fields[12])) / CLOCK_TICKS : Number.NaN;

/** CPU seconds (user + system, all threads) a process has used so far; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  return ticksToSeconds(statFields(`/proc/${pid}/stat`), 'user+system');
}

/** CPU seconds the process has spent in the kernel (system time), a part of cpuSeconds. */
export function systemSeconds(pid: number): number {
  return ticksToSeconds(statFields(`/proc/${pid}/stat`), 'system');
}

/** CPU seconds (user + system) of the process's main thread alone: JavaScript and the event loop, without V8's and libuv's helper threads. */
export function mainThreadSeconds(pid: number): number {
  return ticksToSeconds(statFields(`/proc/${pid}/task/${pid}/stat`), 'user+system');
}

/** Times the process's main thread has blocked and been woken again (voluntary context switches): its event loop's wake-ups. */
export function mainThreadWakeups(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'latin1');
    return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/**
 * Nanoseconds the process's main thread has spent runnable but waiting for a CPU
 * (/proc/<pid>/schedstat): how much other work on the machine got in its way.
 */
export function runQueueWaitNs(pid: number | 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[1]);
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds used so far by every user-space process except `exclude` (and the runner, our
 * parent): other people's work on a shared machine. Kernel threads are left out, so the I/O
 * work a server's own fsyncs cause is not mistaken for a neighbour.
 */
export function othersCpuSeconds(exclude: readonly number[]): number {
  const skip = new Set([...exclude, process.pid, process.ppid]);
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || skip.has(pid) || pid === 2) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[1] === '2' || fields[1] === '0') continue; // kernel threads (children of kthreadd)
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Resident set size and its peak (VmHWM), in bytes. */
export function memoryOf(pid: number): { rss: number; peakRss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, peakRss: Number.NaN };
  }
}

export { freePort } from '../../test/support/ports.ts';

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before listening (${child.exitCode ?? child.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

/** Sends SIGTERM, waits for the exit, and kills the process if it lingers. */
export async function stopProcess(child: ChildProcess, graceMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Share of all CPUs busy over `ms` (from /proc/stat; NaN where unavailable). */
export async function machineBusy(ms = 500): Promise<number> {
  try {
    const a = cpuTimes();
    await sleep(ms);
    const b = cpuTimes();
    return (b.busy - a.busy) / Math.max(1, b.total - a.total);
  } catch {
    return Number.NaN;
  }
}

/**
 * The machines these run on are shared. Before a measurement starts (with nothing of ours
 * running), wait until the CPUs are nearly idle, up to `maxWaitMs`; returns how busy they were
 * when we went ahead and how long we waited.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.15): Promise<{ busy: number; waitedMs: number }> {
  const started = Date.now();
  let busy = await machineBusy();
  while (!(busy <= threshold) && Date.now() - started < maxWaitMs) {
    await sleep(1000);
    busy = await machineBusy();
  }
  return { busy, waitedMs: Date.now() - started };
}

/** Pids of the processes whose command line (arguments joined by spaces) contains `text`. */
export function processesMatching(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').includes(text)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * CPU seconds used so far, by pid, by `roots` and their direct children (PostgreSQL's backends
 * are children of its postmaster). Subtract two of these with `cpuSince`.
 */
export function treeCpuSeconds(roots: readonly number[]): Map<number, number> {
  const wanted = new Set(roots);
  const used = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (wanted.has(pid) || wanted.has(Number(fields[1]))) used.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // gone meanwhile
    }
  }
  return used;
}

/** CPU seconds used between two readings of treeCpuSeconds (a process started in between counts from zero). */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
