// Loaded with `node --import` into test child processes: at exit, writes the process's peak
// resident set size (bytes) to `$PARLEY_PEAK_RSS_FILE.<pid>`.
//
// The peak is the kernel's VmHWM of this process's own memory, read from /proc/self/status. Not
// getrusage's ru_maxrss (process.resourceUsage().maxRSS): Linux carries that across fork and
// exec, so a child spawned by a test process of 400 MB reports at least 400 MB whatever it used
// itself (a CLI that peaked at 131 MB was reported at 253 MB).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.PARLEY_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const kib = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    writeFileSync(`${file}.${process.pid}`, String(kib * 1024));
  });
}
