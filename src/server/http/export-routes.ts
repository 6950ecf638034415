import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Accounts } from '../accounts/accounts.ts';
import { ParleyError } from '../errors.ts';
import { requireUser } from './authenticate.ts';

export interface ExportRouteDeps {
  accounts: Accounts;
  /** Exports streaming at once on this node; one more is refused with EXPORTS_BUSY (backup/export.ts, EXPORTS_AT_ONCE). */
  maxRunning: number;
  /** The user's own data as NDJSON lines (backup/export.ts), read lazily from a snapshot of either database. */
  exportUser(userId: number): AsyncIterable<string>;
}

/** What a refused export is told to wait: exports last as long as a download. */
const EXPORTS_BUSY_RETRY_MS = 60_000;

/** `GET /api/me/export`: a signed-in user downloads their own data (docs/PROTOCOL.md). */
export function exportRoutes(app: FastifyInstance, deps: ExportRouteDeps): void {
  // One export at a time per user: each holds a database snapshot open while it streams.
  const running = new Set<number>();

  app.get('/api/me/export', async (request, reply) => {
    const { user } = await requireUser(deps.accounts, request);
    if (running.has(user.id)) throw new ParleyError('RATE_LIMITED', 'Your previous export is still being downloaded.');
    if (running.size >= deps.maxRunning) throw new ParleyError('EXPORTS_BUSY', undefined, { retryAfterMs: EXPORTS_BUSY_RETRY_MS });
    running.add(user.id);
    const body = Readable.from(deps.exportUser(user.id));
    body.once('close', () => running.delete(user.id));
    const date = new Date().toISOString().slice(0, 10);
    // The plain filename is ASCII for every browser; filename* carries the name as it is spelled.
    const disposition = `attachment; filename="parley-export-${date}.ndjson"; filename*=UTF-8''${encodeURIComponent(`parley-${user.name}-${date}.ndjson`)}`;
    return reply
      .header('Content-Type', 'application/x-ndjson; charset=utf-8')
      .header('Content-Disposition', disposition)
      .header('Cache-Control', 'no-store')
      .send(body);
  });
}
