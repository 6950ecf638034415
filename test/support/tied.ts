/**
 * Child processes that die with the test process that started them.
 *
 * A test's private PostgreSQL, Redis and `parley serve` processes are stopped by its afterAll.
 * But a vitest worker that crashes (out of memory) or is killed (SIGKILL, a timeout) runs no
 * afterAll, no `process.on('exit')`, no signal handler: its children were re-parented and kept
 * running, with their ports and folders, until the machine stopped.
 *
 * Why the kernel's parent-death signal (prctl PR_SET_PDEATHSIG), set by util-linux's `setpriv
 * --pdeathsig` just before it execs the real program: it is the one way that also covers SIGKILL
 * of the parent, and it costs no extra process. A watchdog that polls the parent's pid (a `node
 * -e` or shell wrapper per child) would cover it too, but adds a process per child, a polling
 * delay, and a wrapper between the test and the pid it signals; exit handlers do not run on
 * SIGKILL at all. setpriv execs (it does not fork), so `child.pid` is the program's own pid and
 * the tests' signals (SIGQUIT to postgres, SIGKILL to a node) reach it as before. util-linux is
 * an essential Debian package: setpriv is on every machine the tests run on.
 *
 * One race is closed by hand: a parent that died after the fork but before the prctl would never
 * send the signal. So setpriv runs `sh`, which checks that its parent is still the test process
 * (after the prctl, so from then on the kernel has it) and execs the program, or exits.
 *
 * The signal is sent when the thread that spawned the child ends: in vitest's `forks` pool that
 * is the worker's main thread, i.e. the worker process.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const STILL_MY_PARENT = '[ "$PPID" = "$0" ] || exit 70; exec "$@"';

/**
 * spawn(command, args, options), and the child is sent `signal` when this process ends, however
 * it ends. Use a signal the program stops promptly on: SIGQUIT for postgres (an immediate
 * shutdown that takes its backends with it), SIGTERM for redis-server (nothing to save), SIGKILL
 * for a node process.
 */
export function spawnTied(command: string, args: readonly string[], options: SpawnOptions, signal: NodeJS.Signals): ChildProcess {
  return spawn('setpriv', ['--pdeathsig', signal, '--', 'sh', '-c', STILL_MY_PARENT, String(process.pid), command, ...args], options);
}
