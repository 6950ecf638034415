import type { Pinning } from './processes.ts';

/** What every scenario hands back: its figures for the JSON, and tables for people. */
export interface ScenarioReport {
  scenario: string;
  title: string;
  status: 'done' | 'pending' | 'failed';
  settings: Record<string, unknown>;
  /** Parley's figures (medians over rounds). */
  parley: unknown;
  /** Each reference's figures (medians over rounds). */
  peers: Record<string, unknown>;
  /** Parley / reference, per round and the median of those. */
  ratios: Record<string, { perRound: number[]; median: number }>;
  targets: TargetCheck[];
  rounds: unknown[];
  notes: string[];
  tables: Table[];
  /** With --profile: Parley's hot spots in this scenario. */
  hotSpots?: unknown;
  seconds: number;
}

export interface TargetCheck {
  target: string;
  goal: string;
  value: string;
  met: boolean;
  /** How far off, in the figure's own terms ("needs 1.8x more"), or "" when met. */
  gap: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface BenchContext {
  pinning: Pinning;
  quick: boolean;
  rounds: number;
  connections: number;
  /** Folder for Parley CPU profiles, when --profile is given. */
  profileDir: string | null;
  log(line: string): void;
  /** Waits (bounded) for other work on the machine to calm down before a measurement. */
  settle(label: string): Promise<void>;
}

export function renderTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [table.title, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

export function markdownTable(table: Table): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [row(table.columns), row(table.columns.map((_, i) => (i === 0 ? '---' : '---:'))), ...table.rows.map(row)].join('\n');
}

export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return 'n/a';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(0)}k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(perSecond >= 100 ? 0 : 1);
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  if (Math.abs(bytes) >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (Math.abs(bytes) >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes.toFixed(0)} B`;
}

export function fmtPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(0)}%` : 'n/a';
}

/** "needs 1.4x more" / "1.4x over" style gap text for a higher-is-better figure. */
export function gapAtLeast(value: number, goal: number): string {
  if (!Number.isFinite(value)) return 'not measured';
  return value >= goal ? '' : `${(goal / value).toFixed(2)}x short (${fmtRatio(value)} of the goal's ${fmtRatio(goal)})`;
}

export function gapAtMost(value: number, goal: number, unit: string): string {
  if (!Number.isFinite(value)) return 'not measured';
  return value <= goal ? '' : `${(value / goal).toFixed(2)}x over (${value.toFixed(1)} ${unit} against ${goal} ${unit})`;
}

/** Rotates the order targets run in, so no one always runs first (or last) in a round. */
export function rotate<T>(list: readonly T[], by: number): T[] {
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
