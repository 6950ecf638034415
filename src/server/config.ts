import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import proxyaddr from '@fastify/proxy-addr';
import type { DatabaseSetting } from './storage/open-store.ts';
import type { Durability } from './storage/sqlite/open-database.ts';

export type TlsSetting = { kind: 'none' } | { kind: 'files'; certFile: string; keyFile: string } | { kind: 'self-signed' } | AcmeSetting;

/** `--tls acme`: a certificate from an ACME CA for `domains` (tls/acme.ts). */
export interface AcmeSetting {
  kind: 'acme';
  domains: string[];
  email: string;
  directoryUrl: string;
  /** A CA certificate to trust for the directory's own HTTPS (a private CA); null: the system's. */
  caFile: string | null;
  /** Where the HTTP-01 challenge is answered (and other requests are sent on to HTTPS). */
  httpPort: number;
}

const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** SQLite in the data folder by default; `--database postgres://…` stores everything in PostgreSQL. */
  database: DatabaseSetting;
  /** `--redis redis://…`: the nodes of a cluster share the bus, presence and limits through it; null on one node. */
  redisUrl: string | null;
  tls: TlsSetting;
  /** A reverse proxy in front terminates TLS, so plain HTTP on a public address is fine. */
  behindTlsProxy: boolean;
  /** Extra origins (e.g. `https://chat.example.org`) allowed to use the server from a browser. */
  allowedOrigins: string[];
  /** The addresses people reach Parley at (`https://chat.example.org`): their hosts are served, their origins allowed. */
  publicUrls: string[];
  /** Reverse proxies whose X-Forwarded-* headers are believed (addresses, CIDRs, `loopback`…). */
  trustProxy: string[];
  /** More names for the self-signed certificate than the machine's own. */
  tlsNames: string[];
  logLevel: string;
  durability: Durability;
  sendRatePerSecond: number;
  sendBurst: number;
  heartbeatMs: number;
  maxQueuedBytes: number;
  helloTimeoutMs: number;
  /** WebSocket connections one user may have open on this server at once (tabs, devices, scripts). */
  maxConnectionsPerUser: number;
  /** An HTTP connection with nothing read or written for this long is closed (a stalled upload or download). */
  httpIdleTimeoutMs: number;
  /** The built web client; null to serve no web client. */
  webRoot: string | null;
  files: FileConfig;
  /** Lets `Authorization: Bearer <token>` read /metrics from anywhere; null: this machine only. */
  metricsToken: string | null;
}

export interface FileConfig {
  /** Largest file that may be offered (checked at the offer and while streaming). */
  maxFileBytes: number;
  /** Unanswered offers, and uploads idle this long, expire. */
  offerTtlMs: number;
  /** Completed files are deleted this long after completion; null keeps them. */
  retentionMs: number | null;
}

export class ConfigError extends Error {}

/** Every option: its flag, its environment variable, and its default (documented in the README). */
const OPTIONS = {
  host: { env: 'PARLEY_HOST', default: '127.0.0.1' },
  port: { env: 'PARLEY_PORT', default: '8080' },
  data: { env: 'PARLEY_DATA_DIR', default: './data' },
  database: { env: 'PARLEY_DATABASE_URL', default: '' },
  redis: { env: 'PARLEY_REDIS_URL', default: '' },
  'tls-cert': { env: 'PARLEY_TLS_CERT', default: '' },
  'tls-key': { env: 'PARLEY_TLS_KEY', default: '' },
  tls: { env: 'PARLEY_TLS', default: '' },
  'behind-tls-proxy': { env: 'PARLEY_BEHIND_TLS_PROXY', default: '' },
  'allow-origin': { env: 'PARLEY_ALLOW_ORIGINS', default: '' },
  'public-url': { env: 'PARLEY_PUBLIC_URL', default: '' },
  'trust-proxy': { env: 'PARLEY_TRUST_PROXY', default: '' },
  'tls-name': { env: 'PARLEY_TLS_NAMES', default: '' },
  'tls-domain': { env: 'PARLEY_TLS_DOMAINS', default: '' },
  'acme-email': { env: 'PARLEY_ACME_EMAIL', default: '' },
  'acme-directory': { env: 'PARLEY_ACME_DIRECTORY', default: LETS_ENCRYPT },
  'acme-ca': { env: 'PARLEY_ACME_CA', default: '' },
  'acme-http-port': { env: 'PARLEY_ACME_HTTP_PORT', default: '80' },
  'log-level': { env: 'PARLEY_LOG_LEVEL', default: 'info' },
  durability: { env: 'PARLEY_DURABILITY', default: 'full' },
  'send-rate': { env: 'PARLEY_SEND_RATE', default: '10' },
  'send-burst': { env: 'PARLEY_SEND_BURST', default: '30' },
  'heartbeat-ms': { env: 'PARLEY_HEARTBEAT_MS', default: '30000' },
  'hello-timeout-ms': { env: 'PARLEY_HELLO_TIMEOUT_MS', default: '10000' },
  'max-connections-per-user': { env: 'PARLEY_MAX_CONNECTIONS_PER_USER', default: '32' },
  'http-idle-timeout': { env: 'PARLEY_HTTP_IDLE_TIMEOUT', default: '120s' },
  'send-queue-bytes': { env: 'PARLEY_SEND_QUEUE_BYTES', default: String(4 * 1024 * 1024) },
  'max-file-bytes': { env: 'PARLEY_MAX_FILE_BYTES', default: String(2 * 1024 ** 3) },
  'file-offer-ttl': { env: 'PARLEY_FILE_OFFER_TTL', default: '24h' },
  'file-retention': { env: 'PARLEY_FILE_RETENTION', default: 'keep' },
  'metrics-token': { env: 'PARLEY_METRICS_TOKEN', default: '' },
} as const;

type OptionName = keyof typeof OPTIONS;

export const CONFIG_HELP = Object.entries(OPTIONS)
  .map(([flag, { env, default: value }]) => `  --${flag.padEnd(18)} ${env.padEnd(26)} default: ${value || '(unset)'}`)
  .join('\n');

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, defaults: { webRoot: string | null } = { webRoot: null }): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.keys(OPTIONS).map((name) => [name, { type: name === 'behind-tls-proxy' ? 'boolean' : 'string' }]),
    ) as Record<OptionName, { type: 'string' | 'boolean' }>,
    strict: true,
  });
  const get = (name: OptionName): string => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    if (flag === true) return 'true';
    return env[OPTIONS[name].env] ?? OPTIONS[name].default;
  };

  const host = get('host');
  const tls = get('tls') === 'acme' ? acmeSetting(get) : tlsSetting(get('tls'), get('tls-cert'), get('tls-key'));
  const behindTlsProxy = ['1', 'true', 'yes'].includes(get('behind-tls-proxy').toLowerCase());
  if (tls.kind === 'none' && !behindTlsProxy && !isLoopback(host)) {
    throw new ConfigError(
      `Refusing to serve plain HTTP on ${host}: everything that leaves this machine must be encrypted. ` +
        'Use --tls self-signed, or --tls-cert/--tls-key with your certificate, ' +
        'or --behind-tls-proxy if a reverse proxy terminates TLS in front of Parley.',
    );
  }
  const publicUrls = list(get('public-url')).map(publicUrl);
  if (behindTlsProxy && publicUrls.length === 0) {
    throw new ConfigError('--behind-tls-proxy needs --public-url with the address people use (e.g. https://chat.example.org): only that host is served.');
  }
  const database = databaseSetting(get('database'));
  const durability = get('durability');
  if (durability !== 'full' && durability !== 'normal') throw new ConfigError('--durability is "full" or "normal".');

  return {
    host,
    port: integer(get('port'), 'port', 0, 65535),
    dataDir: resolve(get('data')),
    database,
    redisUrl: redisUrl(get('redis'), database),
    tls,
    behindTlsProxy,
    allowedOrigins: list(get('allow-origin')).map((origin) => publicUrl(origin).origin),
    publicUrls: publicUrls.map((url) => url.origin),
    // Behind a proxy on the same machine (the usual set-up) its X-Forwarded-For is believed by default.
    trustProxy: proxyList(get('trust-proxy') || (behindTlsProxy ? 'loopback' : '')),
    tlsNames: list(get('tls-name')),
    logLevel: get('log-level'),
    durability,
    sendRatePerSecond: integer(get('send-rate'), 'send-rate', 1, 1_000_000),
    sendBurst: integer(get('send-burst'), 'send-burst', 1, 1_000_000),
    heartbeatMs: integer(get('heartbeat-ms'), 'heartbeat-ms', 100, 3_600_000),
    maxQueuedBytes: integer(get('send-queue-bytes'), 'send-queue-bytes', 64 * 1024, 1024 ** 3),
    helloTimeoutMs: integer(get('hello-timeout-ms'), 'hello-timeout-ms', 100, 600_000),
    maxConnectionsPerUser: integer(get('max-connections-per-user'), 'max-connections-per-user', 1, 100_000),
    httpIdleTimeoutMs: duration(get('http-idle-timeout'), 'http-idle-timeout'),
    webRoot: defaults.webRoot,
    metricsToken: metricsToken(get('metrics-token')),
    files: {
      maxFileBytes: integer(get('max-file-bytes'), 'max-file-bytes', 0, Number.MAX_SAFE_INTEGER),
      offerTtlMs: duration(get('file-offer-ttl'), 'file-offer-ttl'),
      retentionMs: get('file-retention') === 'keep' ? null : duration(get('file-retention'), 'file-retention'),
    },
  };
}

/**
 * The settings every node of a cluster should be started with alike, by flag, as text: what a
 * person meets (their send limit, how large a file may be and how long it is kept, which
 * addresses a browser may use) must not depend on the node the balancer picked. Nodes compare
 * them at start and at every heartbeat (storage/postgres/node-settings.ts) and warn of a
 * difference; they do not refuse it, so that a setting can change one node at a time.
 */
export function clusterWideSettings(config: Config): Record<string, string> {
  return {
    'send-rate': String(config.sendRatePerSecond),
    'send-burst': String(config.sendBurst),
    'max-connections-per-user': String(config.maxConnectionsPerUser),
    'max-file-bytes': String(config.files.maxFileBytes),
    'file-offer-ttl': `${config.files.offerTtlMs}ms`,
    'file-retention': config.files.retentionMs === null ? 'keep' : `${config.files.retentionMs}ms`,
    'public-url': [...config.publicUrls].sort().join(',') || '(none)',
    'allow-origin': [...config.allowedOrigins].sort().join(',') || '(none)',
  };
}

function databaseSetting(url: string): DatabaseSetting {
  if (url === '') return { kind: 'sqlite' };
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) {
    throw new ConfigError('--database takes a PostgreSQL URL such as postgres://parley:secret@db.example.org/parley (leave it out for SQLite in the data folder).');
  }
  return { kind: 'postgres', url };
}

function redisUrl(url: string, database: DatabaseSetting): string | null {
  if (url === '') return null;
  if (!/^rediss?:\/\//.test(url) || !URL.canParse(url)) {
    throw new ConfigError('--redis takes a Redis URL such as redis://redis.example.org:6379 (rediss:// for TLS).');
  }
  // Nodes that each wrote their own SQLite file would hand out the same seqs: a cluster shares one database.
  if (database.kind !== 'postgres') throw new ConfigError('--redis connects the nodes of a cluster, which share one database: give --database postgres://… too.');
  return url;
}

function tlsSetting(mode: string, certFile: string, keyFile: string): TlsSetting {
  if (mode === 'self-signed') return { kind: 'self-signed' };
  if (mode !== '') throw new ConfigError(`--tls takes "self-signed" or "acme" (got "${mode}"); for your own certificate use --tls-cert and --tls-key.`);
  if (certFile && keyFile) return { kind: 'files', certFile: resolve(certFile), keyFile: resolve(keyFile) };
  if (certFile || keyFile) throw new ConfigError('--tls-cert and --tls-key go together.');
  return { kind: 'none' };
}

function acmeSetting(get: (name: 'tls-domain' | 'acme-email' | 'acme-directory' | 'acme-ca' | 'acme-http-port') => string): AcmeSetting {
  const domains = list(get('tls-domain'));
  if (domains.length === 0 || !domains.every((domain) => /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i.test(domain))) {
    throw new ConfigError('--tls acme needs --tls-domain with the name(s) people use, e.g. --tls-domain chat.example.org (comma-separated for several).');
  }
  const email = get('acme-email');
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new ConfigError('--tls acme needs --acme-email: the CA writes there about expiring certificates.');
  return {
    kind: 'acme',
    domains: domains.map((domain) => domain.toLowerCase()),
    email,
    directoryUrl: get('acme-directory'),
    caFile: get('acme-ca') ? resolve(get('acme-ca')) : null,
    httpPort: integer(get('acme-http-port'), 'acme-http-port', 1, 65535),
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

function proxyList(text: string): string[] {
  try {
    proxyaddr.compile(list(text));
    return list(text);
  } catch (error) {
    throw new ConfigError(`--trust-proxy takes addresses and CIDR ranges, e.g. 10.0.0.0/8,loopback (${(error as Error).message}).`);
  }
}

function publicUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : null;
  if (!url || !['http:', 'https:'].includes(url.protocol)) throw new ConfigError(`"${text}" is not a web address such as https://chat.example.org.`);
  return url;
}

function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`--${name} must be a whole number from ${min} to ${max} (got "${text}").`);
  }
  return value;
}

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `90s`, `30m`, `24h`, `7d`. */
function duration(text: string, name: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const value = match ? Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS] : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`--${name} takes a duration such as 90s, 30m, 24h or 7d${name === 'file-retention' ? ', or "keep"' : ''} (got "${text}").`);
  }
  return value;
}

function metricsToken(text: string): string | null {
  if (text === '') return null;
  if (text.length < 16 || /\s/.test(text)) throw new ConfigError('--metrics-token needs at least 16 characters and no spaces (for example: openssl rand -hex 24).');
  return text;
}
