/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per file,
 * the figures docs/PERFORMANCE.md quotes as hot spots. Usage:
 *   npx tsx bench/tools/profile-top.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function place(url: string, line: number): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url;
  return `${path}:${line + 1}`;
}

/** Self time by function and by file, busiest first; idle and GC are reported as such. */
export function hotSpots(file: string, top = 25): { totalMs: number; functions: HotSpot[]; files: HotSpot[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const functions = new Map<string, HotSpot>();
  const files = new Map<string, HotSpot>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const where = place(url, lineNumber);
    const key = `${name} ${where}`;
    const f = functions.get(key) ?? { name, where, selfMs: 0, selfPercent: 0 };
    f.selfMs += us / 1000;
    functions.set(key, f);
    const fileName = url ? where.replace(/:\d+$/, '') : name;
    const g = files.get(fileName) ?? { name: fileName, where: '', selfMs: 0, selfPercent: 0 };
    g.selfMs += us / 1000;
    files.set(fileName, g);
  }
  const finish = (list: HotSpot[]) =>
    list
      .map((h) => ({ ...h, selfPercent: (100 * h.selfMs * 1000) / totalUs }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { totalMs: totalUs / 1000, functions: finish([...functions.values()]), files: finish([...files.values()]) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, topText] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [top]');
  const { totalMs, functions, files } = hotSpots(file, Number(topText ?? 25));
  console.log(`profile: ${(totalMs / 1000).toFixed(1)} s wall`);
  console.log('\nself time by function:');
  for (const h of functions) console.log(`${h.selfPercent.toFixed(1).padStart(6)} %  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}  ${h.where}`);
  console.log('\nself time by file:');
  for (const h of files) console.log(`${h.selfPercent.toFixed(1).padStart(6)} %  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}`);
}
