// Loaded with `node --import` into test child processes: at exit, writes the process's peak
// resident set size (bytes; the kernel's VmHWM) to `$PARLEY_PEAK_RSS_FILE.<pid>`.
import { writeFileSync } from 'node:fs';

const file = process.env.PARLEY_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => writeFileSync(`${file}.${process.pid}`, String(process.resourceUsage().maxRSS * 1024)));
}
