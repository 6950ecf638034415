/**
 * `npm run build`: bundles the server and the command-line client into dist/cli (esbuild: the
 * entry point run.js plus the chunks it imports on demand) and builds the web client into dist/web
 * (Vite). This is what the package ships and what `npm start` runs.
 *
 * `--if-stale` (run by `npm start` first) builds each half only when it is missing or older
 * than its sources, so a start after no change costs a few file stats.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWebBuilt, webBuildIsStale } from '../src/web/build/ensure-built.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
/**
 * Where the server build goes (dist/cli), and the folders an earlier, tsc-based build left beside
 * it: removed too, so that nothing stale ships (dist/web is Vite's).
 */
const COMPILED = ['cli', 'server', 'client', 'protocol', 'lib'].map((dir) => join(repo, 'dist', dir));
const OUT_DIR = join(repo, 'dist', 'cli');
const ENTRY = join(OUT_DIR, 'run.js');
const SERVER_SOURCES = ['src/cli', 'src/server', 'src/client', 'src/protocol', 'src/lib', 'scripts/build.ts', 'package.json', 'package-lock.json'];
/**
 * Native addons stay outside the bundle: npm builds them for the machine the package is installed
 * on, and they are loaded from node_modules as usual. Everything else, Parley's code and its
 * JavaScript dependencies, is bundled.
 */
const NATIVE = ['better-sqlite3', 'argon2'];
/**
 * A package Parley imports only on demand (`await import('selfsigned')`, the password dictionary)
 * stays a package, loaded by Node from node_modules when the feature is first used: bundled
 * behind a split point, a CommonJS package would lose its named exports (esbuild hands such a
 * chunk only a default export), and an idle server never needs it anyway.
 */
const onDemandPackagesStayPackages: Plugin = {
  name: 'on-demand-packages-stay-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};
/**
 * The bundle is ES modules, but the CommonJS dependencies inside it (fastify, ws, pino…) call
 * `require` for Node's built-in modules and the native addons: this gives every chunk one. Some
 * also read `__dirname` or `__filename` (pino's transports, thread-stream's worker, ioredis's
 * showFriendlyErrorStack), which an ES module does not have: reaching one of those lines would
 * throw a ReferenceError. Every chunk gets its own, from its own `import.meta.url` (the banner is
 * repeated at the top of each chunk), under names no bundled module uses; COMMONJS_GLOBALS makes
 * esbuild rewrite the free `__dirname`/`__filename` of bundled code to those names, and leaves alone
 * a module that declares a `__dirname` of its own (as ES modules often do), which a `const
 * __dirname` in the banner would collide with.
 */
const SHIM = [
  "import { createRequire as __parleyCreateRequire } from 'node:module';",
  "import { fileURLToPath as __parleyFileURLToPath } from 'node:url';",
  "import { dirname as __parleyDirnameOf } from 'node:path';",
  'const require = __parleyCreateRequire(import.meta.url);',
  'const __parley_filename = __parleyFileURLToPath(import.meta.url);',
  'const __parley_dirname = __parleyDirnameOf(__parley_filename);',
].join(' ');
const COMMONJS_GLOBALS = { __dirname: '__parley_dirname', __filename: '__parley_filename' };

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

/**
 * Why a bundle, not tsc's file-for-file output: `parley serve` then reads a handful of files
 * instead of about 90 of Parley's and several hundred of its dependencies', which halves the CPU
 * a start takes (about 0.5 s to 0.3 s here) and holds less memory (docs/PERFORMANCE.md, "Start-up
 * and idle memory"). Splitting keeps what an idle single node never runs (the client commands,
 * the cluster adapters, ACME, certificate generation) in chunks loaded by their dynamic imports.
 * Whitespace and syntax are minified, names are not, so a stack trace in a log still names its
 * functions; the linked source maps (not loaded unless Node runs with --enable-source-maps) give
 * the file and line.
 */
export async function buildServer(): Promise<void> {
  // A clean output: a source file deleted since the last build must not live on in the package.
  for (const dir of COMPILED) rmSync(dir, { recursive: true, force: true });
  await build({
    entryPoints: [join(repo, 'src', 'cli', 'run.ts')],
    outdir: OUT_DIR,
    // Flat, so that every chunk sits two folders below the package root, as its sources did
    // (version.ts reads ../../package.json and main.ts serves ../../dist/web from import.meta.url).
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external: NATIVE,
    plugins: [onDemandPackagesStayPackages],
    banner: { js: SHIM },
    define: COMMONJS_GLOBALS,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale || serverBuildIsStale()) {
    console.log('Parley: bundling the server and the CLI into dist/cli…');
    await buildServer();
  }
  if (!ifStale || webBuildIsStale()) {
    console.log('Parley: building the web client into dist/web…');
    await ensureWebBuilt({ force: true });
  }
}
