/**
 * `npm run build`: compiles the server and the command-line client to JavaScript in dist/ (tsc
 * with tsconfig.build.json) and builds the web client into dist/web (Vite). This is what the
 * package ships and what `npm start` runs.
 *
 * `--if-stale` (run by `npm start` first) builds each half only when it is missing or older
 * than its sources, so a start after no change costs a few file stats.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWebBuilt, webBuildIsStale } from '../src/web/build/ensure-built.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
/** What tsc emits: one folder per top-level source folder it compiles (dist/web is Vite's). */
const COMPILED = ['cli', 'server', 'client', 'protocol'].map((dir) => join(repo, 'dist', dir));
const ENTRY = join(repo, 'dist', 'cli', 'run.js');
const SERVER_SOURCES = ['src/cli', 'src/server', 'src/client', 'src/protocol', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function serverBuildIsStale(): boolean {
  if (!existsSync(ENTRY)) return true;
  const builtAt = statSync(ENTRY).mtimeMs;
  return SERVER_SOURCES.some((source) => newestMtime(join(repo, source)) > builtAt);
}

export function buildServer(): void {
  // A clean output: a source file deleted since the last build must not live on in the package.
  for (const dir of COMPILED) rmSync(dir, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json')], { cwd: repo, stdio: 'inherit' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale || serverBuildIsStale()) {
    console.log('Parley: compiling the server and the CLI into dist/…');
    buildServer();
  }
  if (!ifStale || webBuildIsStale()) {
    console.log('Parley: building the web client into dist/web…');
    await ensureWebBuilt({ force: true });
  }
}
