import { readFileSync } from 'node:fs';

/** Every process `pid` started, and those they started (Linux: from /proc). */
export function descendants(pid: number): number[] {
  let direct: number[] = [];
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    direct = text ? text.split(/\s+/).map(Number) : [];
  } catch {
    // gone meanwhile
  }
  return direct.flatMap((child) => [child, ...descendants(child)]);
}
