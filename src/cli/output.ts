import type { FileCard, Message } from '../protocol/index.ts';
import { formatBytes } from '../lib/units.ts';

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
 * Text from other people (messages, names, topics) could rewrite the reader's terminal: control
 * characters (escape sequences above all) act on it, and bidi overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069) reorder what follows them, so
 * a line can read other than it is ("Trojan Source"). All are shown as visible escapes; line
 * and paragraph separators too, as they break a line like a newline. Newlines and tabs stay.
 */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

/** `2025-03-01 14:03:21` in local time: what a person reading a terminal expects. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatMessage(message: Message): string {
  const body = message.file ? formatFileCard(message.file) : sanitize(message.text);
  return `#${message.seq} ${formatTime(message.ts)} ${sanitize(message.sender.name)}: ${body}`;
}

/**
 * `[file] "report.pdf", 195 KiB, offered`: a file offer is not a chat line (its text is only the
 * name, for clients that show text only), so it is marked, with its size and where it stands.
 */
export function formatFileCard(card: FileCard): string {
  return `[file] "${sanitize(card.name)}", ${formatBytes(card.size)}, ${fileState(card)}`;
}

function fileState(card: FileCard): string {
  switch (card.state) {
    case 'completed':
      return 'done';
    case 'failed':
      return card.error ? `failed (${card.error})` : 'failed';
    case 'deleted':
      return 'no longer available';
    default:
      return card.state;
  }
}
