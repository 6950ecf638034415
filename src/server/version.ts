import { readFileSync } from 'node:fs';

/** This Parley's version, from its package.json (two folders up, from the sources and from dist/ alike). */
export function parleyVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
