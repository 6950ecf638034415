import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The web client's own policy: scripts, styles and connections from this origin only, so text
 * that slipped into the page as markup still could not run. No inline scripts exist to allow.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.webmanifest', '.svg', '.txt']);

interface CachedFile {
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  type: string;
  cacheControl: string;
}

/**
 * Serves the built web client (dist/web) at `/`: files as built, gzip when the browser takes it,
 * ETags, immutable caching for hashed assets, and index.html for any other page address so a
 * reload on `/#/c/world` or a deep link works. The API and the WebSocket are matched first.
 */
export function webRoutes(app: FastifyInstance, webRoot: string): void {
  const root = resolve(webRoot);
  const cache = new Map<string, CachedFile>();

  const load = async (path: string): Promise<CachedFile | null> => {
    const hit = cache.get(path);
    if (hit) return hit;
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return null;
    const body = await readFile(path);
    const ext = extname(path);
    const file: CachedFile = {
      body,
      gzip: COMPRESSIBLE.has(ext) && body.byteLength > 512 ? gzipSync(body, { level: 9 }) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      type: TYPES[ext] ?? 'application/octet-stream',
      cacheControl: cacheControlFor(path.slice(root.length)),
    };
    // Built files do not change while the server runs; a rebuild needs a restart anyway.
    cache.set(path, file);
    return file;
  };

  app.get('/*', async (request, reply) => {
    const pathname = decodePath(request.url);
    if (pathname === null) return reply.callNotFound();
    if (pathname.startsWith('/api/') || pathname === '/api' || pathname === '/ws') return reply.callNotFound();
    const candidate = resolve(root, `.${pathname}`);
    // Never outside the web root (no "..", no encoded separators sneaking out).
    if (candidate !== root && !candidate.startsWith(root + sep)) return reply.callNotFound();
    let file = candidate === root ? null : await load(candidate);
    if (!file && pathname.endsWith('/')) file = await load(join(candidate, 'index.html'));
    if (!file && wantsPage(request, pathname)) file = await load(join(root, 'index.html'));
    if (!file) return reply.callNotFound();
    return send(request, reply, file);
  });
}

function send(request: FastifyRequest, reply: FastifyReply, file: CachedFile) {
  reply
    .header('Content-Type', file.type)
    .header('Cache-Control', file.cacheControl)
    .header('ETag', file.etag)
    .header('Vary', 'Accept-Encoding')
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('Cross-Origin-Opener-Policy', 'same-origin');
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (file.gzip && acceptsGzip) return reply.header('Content-Encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

function cacheControlFor(relative: string): string {
  // Vite puts a content hash in every file name under /assets/: those never change.
  if (relative.startsWith(`${sep}assets${sep}`)) return 'public, max-age=31536000, immutable';
  if (relative.endsWith('.html') || relative.endsWith('sw.js')) return 'no-cache';
  return 'public, max-age=3600';
}

/** A page address (no file extension) from a browser gets the app; a missing file gets a 404. */
function wantsPage(request: FastifyRequest, pathname: string): boolean {
  return extname(pathname) === '' && String(request.headers.accept ?? '').includes('text/html');
}

function decodePath(url: string): string | null {
  const raw = url.split('?')[0]!.split('#')[0]!;
  try {
    const decoded = decodeURIComponent(raw);
    return decoded.includes('\0') || decoded.includes('\\') ? null : decoded;
  } catch {
    return null;
  }
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Parley: web client not built</title>
<h1>Parley is running, but its web client is not built</h1>
<p>In a checkout of Parley, run <code>npm run build</code> (or start the server with <code>npm start</code>,
which builds it), then start the server again. The API (<code>/api</code>) and the WebSocket
(<code>/ws</code>) work meanwhile, for example with the <code>parley</code> command-line client.</p>
</html>
`;

/** Without a built client, `/` says so and how to build it, instead of an API-style 404. */
export function webClientMissing(app: FastifyInstance): void {
  app.get('/', async (_request, reply) =>
    reply
      .status(503)
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Content-Security-Policy', "default-src 'none'")
      .header('Cache-Control', 'no-store')
      .send(NOT_BUILT_PAGE),
  );
}
