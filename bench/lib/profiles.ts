import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hotSpots } from '../tools/profile-top.ts';
import type { BenchContext, Table } from './report.ts';

/**
 * With `--profile`, every Parley process a scenario starts runs under `node --cpu-prof`; the
 * busiest profile of each scenario is summarised into a hot-spot table (self time by function
 * and by file, as a share of the time the event loop was not idle). Module loading at start-up
 * is left out: it is not part of any measured path.
 */
export function profileDirFor(ctx: BenchContext, label: string): string | undefined {
  if (!ctx.profileDir) return undefined;
  const dir = join(ctx.profileDir, label);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const STARTUP = /node:internal\/modules|node:internal\/bootstrap|cjs-module-lexer|node_modules\/tsx|node_modules\/esbuild|^wrapSafe$|compileFunction/;

export function hotSpotTables(dir: string | undefined, label: string, top = 15): { tables: Table[]; json: unknown } {
  if (!dir) return { tables: [], json: null };
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  if (files.length === 0) return { tables: [], json: null };
  // The biggest profile is the main thread of the longest-running Parley process.
  const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const spots = hotSpots(file, 400);
  const keep = (name: string, where: string) => name !== '(idle)' && !STARTUP.test(where) && !STARTUP.test(name);
  const functions = spots.functions.filter((h) => keep(h.name, h.where));
  const filesList = spots.files.filter((h) => keep(h.name, h.name));
  const busy = functions.reduce((sum, h) => sum + h.selfMs, 0);
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)} %`;
  return {
    json: { profile: file, busyMs: busy, functions: functions.slice(0, top), files: filesList.slice(0, top) },
    tables: [
      {
        title: `${label}: Parley hot spots, self time by function (share of busy time, start-up excluded; ${file.split('/').slice(-2).join('/')})`,
        columns: ['function', 'where', 'self ms', 'share'],
        rows: functions.slice(0, top).map((h) => [h.name, h.where, h.selfMs.toFixed(0), pct(h.selfMs)]),
      },
      {
        title: `${label}: Parley hot spots by file`,
        columns: ['file', 'self ms', 'share'],
        rows: filesList.slice(0, 10).map((h) => [h.name, h.selfMs.toFixed(0), pct(h.selfMs)]),
      },
    ],
  };
}
