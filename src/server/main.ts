import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { startParley } from './app.ts';
import { ConfigError, parseConfig } from './config.ts';
import { StoreUnavailableError } from './storage/open-store.ts';
import { RedisUnavailableError } from './redis/redis-unavailable.ts';
import { parleyVersion } from './version.ts';
import { startupBanner } from './logging/banner.ts';

/** `parley serve` / `npm start`: parse the configuration, start, and shut down cleanly on SIGINT/SIGTERM. */
export async function serve(argv: string[]): Promise<void> {
  let config;
  try {
    const webRoot = fileURLToPath(new URL('../../dist/web', import.meta.url));
    config = parseConfig(argv, process.env, { webRoot: existsSync(webRoot) ? webRoot : null });
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`parley: ${(error as Error).message}`);
      process.exit(2);
    }
    throw error;
  }
  let parley;
  try {
    parley = await startParley(config);
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof RedisUnavailableError) {
      console.error(`parley: ${error.message}`);
      process.exit(1);
    }
    const taken = portTaken(error);
    if (!taken) throw error;
    // An operator's mistake, not a crash: one line that says what to change, no stack trace.
    console.error(
      `parley: port ${taken.port} on ${taken.address} is already in use (another Parley, or another program, listens there); ` +
        `choose a free one with --port (or PARLEY_PORT), or stop the other program.`,
    );
    process.exit(1);
  }
  if (!config.webRoot) {
    parley.log.warn('The web client is not built, so only the API is served: run `npm run build` in the Parley checkout (npm start does it for you).');
  }
  parley.log.info({ url: parley.url, dataDir: config.dataDir }, `Parley is listening on ${parley.url}`);
  if (parley.tlsFingerprint) {
    parley.log.info({ fingerprint: parley.tlsFingerprint }, `TLS certificate SHA-256 fingerprint: ${parley.tlsFingerprint}`);
  }
  // A terminal gets the facts plainly as well; a pipe (a service manager, a log collector) has them in the JSON lines above.
  if (process.stdout.isTTY) {
    process.stdout.write(
      startupBanner({ version: parleyVersion(), url: parley.url, dataDir: config.dataDir, fingerprint: parley.tlsFingerprint, webClient: config.webRoot !== null }),
    );
  }
  const stop = (signal: string) => {
    parley.log.info({ signal }, 'shutting down');
    parley.close().then(
      () => process.exit(0),
      (error) => {
        parley.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // SIGHUP: certificate files renewed by another tool (certbot, a reverse proxy's ACME) are read again.
  process.on('SIGHUP', () => {
    parley.reloadCertificate().then(
      (fingerprint) => {
        if (fingerprint) parley.log.info({ fingerprint }, `SIGHUP: certificate files read again; new connections get SHA-256 ${fingerprint}`);
        else parley.log.info('SIGHUP: no certificate files to read again (serving without --tls-cert/--tls-key)');
      },
      (error) => parley.log.error({ err: error }, 'SIGHUP: could not read the certificate files again; still serving the previous certificate'),
    );
  });
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** The address and port of a listen that failed because something else holds the port. */
function portTaken(error: unknown): { address: string; port: number } | null {
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code !== 'EADDRINUSE' || port === undefined) return null;
  return { address: address ?? 'this machine', port };
}
