/**
 * Builds the web client into dist/web when it is missing or older than its sources (run by
 * `npm start` before the server, and by the end-to-end tests). `--force` always builds.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_ROOT = join(repo, 'dist', 'web');
/** Everything the bundle is made from: the web sources, the client library, the protocol, the build config. */
const SOURCES = ['src/web', 'src/client', 'src/protocol', 'src/lib', 'vite.config.ts', 'package.json'].map((p) => join(repo, p));

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function webBuildIsStale(): boolean {
  const built = join(WEB_ROOT, 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return SOURCES.some((source) => newestMtime(source) > builtAt);
}

export async function ensureWebBuilt(options: { force?: boolean } = {}): Promise<void> {
  if (!options.force && !webBuildIsStale()) return;
  // A production build whatever the caller's NODE_ENV (the test runner sets "test", which
  // would make Vite build a development bundle: no service worker, dev-only code kept).
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ configFile: join(repo, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  if (!force && !webBuildIsStale()) {
    console.log('Parley web client: dist/web is up to date.');
  } else {
    console.log('Parley web client: building dist/web…');
    await ensureWebBuilt({ force: true });
  }
}
