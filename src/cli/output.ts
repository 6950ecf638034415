import type { Message } from '../protocol/index.ts';

/** One JSON object per line, so that `--json` output can be piped into jq or read line by line. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Progress and hints go to stderr, so stdout stays clean for scripts. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * Message text comes from other people: control characters (escape sequences above all) could
 * rewrite the reader's terminal, so they are shown as visible escapes. Newlines and tabs stay.
 */
export function sanitize(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `2025-03-01 14:03:21` in local time: what a person reading a terminal expects. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatMessage(message: Message): string {
  return `#${message.seq} ${formatTime(message.ts)} ${sanitize(message.sender.name)}: ${sanitize(message.text)}`;
}
