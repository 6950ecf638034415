import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('configuration', () => {
  it('has embedded defaults: loopback, port 8080, ./data, durable commits', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, durability: 'full', tls: { kind: 'none' } });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('has the limits and timings the README and PROTOCOL document as defaults (pinned here as written there)', () => {
    expect(parseConfig([], {})).toMatchObject({
      sendRatePerSecond: 10,
      sendBurst: 30,
      heartbeatMs: 30_000,
      helloTimeoutMs: 10_000,
      maxConnectionsPerUser: 32,
      httpIdleTimeoutMs: 120_000,
      maxQueuedBytes: 4_194_304,
      logLevel: 'info',
      files: { maxFileBytes: 2_147_483_648, offerTtlMs: 24 * 3600 * 1000, retentionMs: null },
    });
  });

  it('reads environment variables and lets flags win over them', () => {
    const env = { PARLEY_PORT: '9100', PARLEY_DATA_DIR: '/tmp/from-env', PARLEY_HOST: '::1' };
    expect(parseConfig([], env)).toMatchObject({ port: 9100, dataDir: '/tmp/from-env', host: '::1' });
    expect(parseConfig(['--port', '9000', '--data', './scratch'], env)).toMatchObject({ port: 9000 });
    expect(parseConfig(['--data', '/srv/parley'], env).dataDir).toBe('/srv/parley');
  });

  it('connects to Redis with --redis or PARLEY_REDIS_URL only beside PostgreSQL, and refuses anything else', () => {
    const database = ['--database', 'postgres://db/parley'];
    expect(parseConfig(database, {}).redisUrl).toBeNull();
    expect(parseConfig([...database, '--redis', 'redis://cache:6379/2'], {}).redisUrl).toBe('redis://cache:6379/2');
    expect(parseConfig(database, { PARLEY_REDIS_URL: 'rediss://cache' }).redisUrl).toBe('rediss://cache');
    expect(() => parseConfig([...database, '--redis', 'cache:6379'], {})).toThrow(/--redis takes a Redis URL/);
    expect(() => parseConfig(['--redis', 'redis://cache'], {})).toThrow(/share one database: give --database postgres/);
  });

  it('stores in SQLite by default and in PostgreSQL with --database or PARLEY_DATABASE_URL, refusing anything else', () => {
    expect(parseConfig([], {}).database).toEqual({ kind: 'sqlite' });
    const url = 'postgres://parley:secret@db.example.org:5432/parley';
    expect(parseConfig(['--database', url], {}).database).toEqual({ kind: 'postgres', url });
    expect(parseConfig([], { PARLEY_DATABASE_URL: 'postgresql://db/parley' }).database).toEqual({ kind: 'postgres', url: 'postgresql://db/parley' });
    expect(() => parseConfig(['--database', 'mysql://db/parley'], {})).toThrow(/--database takes a PostgreSQL URL/);
    expect(() => parseConfig(['--database', './parley.sqlite'], {})).toThrow(ConfigError);
  });

  it('refuses plain HTTP on a non-loopback address, with what to do instead', () => {
    expect(() => parseConfig(['--host', '0.0.0.0'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--host', '192.168.1.20'], {})).toThrow(/--tls self-signed.*--behind-tls-proxy/);
    const proxied = ['--host', '0.0.0.0', '--behind-tls-proxy', '--public-url', 'https://chat.example.org'];
    expect(parseConfig(proxied, {}).behindTlsProxy).toBe(true);
    expect(parseConfig(['--host', '0.0.0.0', '--tls', 'self-signed'], {}).tls).toEqual({ kind: 'self-signed' });
    expect(parseConfig(['--host', '0.0.0.0'], { PARLEY_BEHIND_TLS_PROXY: 'true', PARLEY_PUBLIC_URL: 'https://chat.example.org' }).behindTlsProxy).toBe(true);
  });

  it('needs --public-url behind a proxy, since only the hosts it names are served there', () => {
    expect(() => parseConfig(['--host', '0.0.0.0', '--behind-tls-proxy'], {})).toThrow(/--behind-tls-proxy needs --public-url/);
    expect(() => parseConfig(['--public-url', 'chat.example.org'], {})).toThrow(/not a web address/);
    expect(parseConfig(['--public-url', 'https://Chat.Example.org/, https://b.example:8443'], {}).publicUrls).toEqual([
      'https://chat.example.org',
      'https://b.example:8443',
    ]);
  });

  it('trusts X-Forwarded-For from no proxy by default, from loopback behind a proxy, or from the --trust-proxy list', () => {
    expect(parseConfig([], {}).trustProxy).toEqual([]);
    expect(parseConfig(['--behind-tls-proxy', '--public-url', 'https://c.example'], {}).trustProxy).toEqual(['loopback']);
    expect(parseConfig(['--trust-proxy', '10.0.0.0/8, 192.168.1.2,::1'], {}).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.2', '::1']);
    expect(() => parseConfig(['--trust-proxy', '10.0.0.0/99'], {})).toThrow(/--trust-proxy takes addresses and CIDR ranges/);
    expect(() => parseConfig(['--trust-proxy', 'proxy.example'], {})).toThrow(/--trust-proxy/);
  });

  it('rejects bad values with a message naming the option', () => {
    expect(() => parseConfig(['--port', '70000'], {})).toThrow(/--port must be a whole number from 0 to 65535/);
    expect(() => parseConfig(['--port', 'http'], {})).toThrow(/--port/);
    expect(() => parseConfig(['--tls', 'yes'], {})).toThrow(/--tls takes "self-signed"/);
    expect(() => parseConfig(['--tls-cert', 'a.pem'], {})).toThrow(/go together/);
    expect(() => parseConfig(['--durability', 'off'], {})).toThrow(/--durability/);
    expect(() => parseConfig(['--no-such-flag'], {})).toThrow();
  });

  it('splits the origin allow-list', () => {
    expect(parseConfig(['--allow-origin', 'https://a.example, https://b.example'], {}).allowedOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
