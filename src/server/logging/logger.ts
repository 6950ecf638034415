import pino, { type Logger } from 'pino';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[41m'],
};
/** Fields every line has, shown in the line's own layout rather than as key=value. */
const SHOWN = new Set(['level', 'time', 'service', 'part', 'msg']);

/** One JSON log line as a person reads it: `14:03:21 INFO  [http] access … status=200`. */
export function readableLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const [name, code] = LEVELS[entry.level as number] ?? ['?', ''];
  const time = new Date(entry.time as number).toTimeString().slice(0, 8);
  const part = typeof entry.part === 'string' ? `[${entry.part}] ` : '';
  const msg = String(entry.msg ?? '');
  // A field the message already says (the access line's status, the URL) is not repeated.
  const fields = Object.entries(entry)
    .filter(([key, value]) => !SHOWN.has(key) && !(typeof value !== 'object' && msg.includes(String(value))))
    .map(([key, value]) => {
      if (key === 'err' && value && typeof value === 'object' && 'stack' in value) return `\n${String((value as { stack: unknown }).stack)}`;
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    });
  const level = colour ? `${code}${name}\x1b[0m` : name;
  return `${time} ${level} ${part}${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

/**
 * Parley's logger: JSON lines (pino) when standard output is a pipe or a file, for log
 * collectors and fail2ban; readable lines, coloured, when it is a terminal.
 */
export function createLogger(level: string, out: NodeJS.WriteStream = process.stdout): Logger {
  const options = { level, base: { service: 'parley' } };
  if (!out.isTTY) return pino(options);
  return pino(options, { write: (line: string) => out.write(readableLine(line, out.hasColors?.() ?? false)) });
}
