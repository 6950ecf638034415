import type { TransferProgress } from '../client/files.ts';
import type { FileCard } from '../protocol/index.ts';
import { formatBytes, formatCount, formatSecondsFigure } from '../lib/units.ts';
import { note, printJson, sanitize } from './output.ts';

export { formatBytes };

/** A time left: "8.5 s", "3 min 4 s", "2 h 5 min". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "5,000,000 bytes (4.77 MiB) in 0.31 s": a whole transfer, said as the web client says it. */
export function formatTransfer(bytes: number, seconds: number): string {
  const size = bytes < 1024 ? '' : ` (${formatBytes(bytes)})`;
  return `${formatCount(bytes)} bytes${size} in ${formatSecondsFigure(seconds)} s`;
}

/** A card as one line of text: the name is someone else's, so control characters are escaped. */
export function describeFile(file: FileCard): string {
  return `"${sanitize(file.name)}" (${formatBytes(file.size)}) id ${file.id}`;
}

/**
 * Progress on stderr: a redrawn bar on a terminal, a line every 10 % otherwise; with --json a
 * `progress` object on stdout at most four times a second.
 */
export function progressReporter(label: string, id: string, json: boolean): (progress: TransferProgress & { phase?: string }) => void {
  const tty = process.stderr.isTTY === true;
  let shownAt = 0;
  let shownTenth = -1;
  return (progress) => {
    const now = Date.now();
    const finished = progress.done >= progress.total;
    if (json) {
      if (now - shownAt < 250 && !finished) return;
      shownAt = now;
      printJson({ type: 'progress', id, ...progress });
      return;
    }
    const fraction = progress.total === 0 ? 1 : progress.done / progress.total;
    const left = progress.bytesPerSecond > 0 ? (progress.total - progress.done) / progress.bytesPerSecond : Infinity;
    const text = `${label} ${(fraction * 100).toFixed(1).padStart(5)} % ${formatBytes(progress.done)} of ${formatBytes(progress.total)}, ${formatBytes(progress.bytesPerSecond)}/s, ${formatSeconds(left)} left`;
    if (tty) {
      if (now - shownAt < 100 && !finished) return;
      shownAt = now;
      const width = 20;
      const filled = Math.round(fraction * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\u001b[K${finished ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === shownTenth) return;
    shownTenth = tenth;
    note(text);
  };
}
