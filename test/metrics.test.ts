/**
 * `GET /metrics` as Prometheus scrapes it, who may read it, and the access and account-event
 * log lines that operators (and fail2ban) read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD } from '../src/protocol/index.ts';
import { startParley, type RunningParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import { installErrorHandling } from '../src/server/http/errors.ts';
import { metricsRoute } from '../src/server/http/metrics-route.ts';
import { startupBanner } from '../src/server/logging/banner.ts';
import { readableLine } from '../src/server/logging/logger.ts';
import { PASSWORD, connect, rawSocket, registerUser, waitFor } from './support/clients.ts';
import { offer, patchUpload, threeUsers } from './support/files.ts';

const TOKEN = 'metrics-token-for-the-test-0123456789';

/** The metrics docs/DEPLOYMENT.md lists, by the names Prometheus sees. */
const DOCUMENTED = {
  parley_connections: 'GAUGE',
  parley_users_online: 'GAUGE',
  parley_send_queue_bytes: 'GAUGE',
  parley_messages_committed_total: 'COUNTER',
  parley_commit_batch_size: 'HISTOGRAM',
  parley_commit_duration_seconds: 'HISTOGRAM',
  parley_slow_client_disconnects_total: 'COUNTER',
  parley_login_failures_total: 'COUNTER',
  parley_file_bytes_received_total: 'COUNTER',
  parley_file_bytes_sent_total: 'COUNTER',
  parley_http_requests_total: 'COUNTER',
  parley_delivery_hole_fills_total: 'COUNTER',
  nodejs_eventloop_lag_seconds: 'GAUGE',
  process_resident_memory_bytes: 'GAUGE',
} as const;

let parley: RunningParley;
let dataDir: string;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-metrics-'));
  const config = parseConfig(
    ['--port', '0', '--data', dataDir, '--metrics-token', TOKEN, '--send-queue-bytes', '65536', '--send-rate', '100000', '--send-burst', '100000'],
    {},
  );
  parley = await startParley(config, {
    logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }),
    accountLimits: {
      sessionTtlMs: 3_600_000,
      throttle: {
        perAccountAndAddress: { failures: 3, windowMs: 60_000 },
        perAccount: { failures: 100, windowMs: 60_000 },
        perAddress: { failures: 100, windowMs: 60_000 },
        perDevice: { failures: 100, windowMs: 60_000 },
      },
      registrationsPerAddress: { count: 1000, windowMs: 60_000 },
    },
  });
});

afterAll(async () => {
  await parley?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function scrape(headers: Record<string, string> = {}): Promise<{ text: string; families: Map<string, MetricFamily> }> {
  const response = await fetch(`${parley.url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  return { text, families: new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family])) };
}

/** The value of a counter or gauge sample whose labels include `labels`. */
function value(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const sample = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([key, wanted]) => m.labels?.[key] === wanted));
  return sample?.value === undefined ? 0 : Number(sample.value);
}

function histogramCount(families: Map<string, MetricFamily>, name: string): number {
  return Number(families.get(name)?.metrics[0]?.count ?? 0);
}

describe('GET /metrics', () => {
  it('is Prometheus text format with every documented metric, read by a text-format parser', async () => {
    const { text, families } = await scrape();
    for (const [name, type] of Object.entries(DOCUMENTED)) expect(families.get(name)?.type, name).toBe(type);
    // Each line is a comment or `name{labels} value` of the exposition format (whose parser reads
    // NaN in any case; prom-client writes `Nan` for a mean with no samples yet).
    for (const line of text.split('\n').filter(Boolean)) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?([0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf))$/);
    }
  });

  it('counts connections, users online, commits, failed logins, lockouts, file bytes and requests as they happen', async () => {
    const before = (await scrape()).families;
    const { alice, bob, conv } = await threeUsers(parley.url);
    const [aliceLive, bobLive] = [await connect(alice.api), await connect(bob.api)];
    for (let i = 0; i < 5; i++) await aliceLive.session.send(WORLD, `counted ${i}`);
    const wrong = new ParleyApi(parley.url);
    // The account allows 3 failures (the throttle above): three wrong passwords, then the lockout.
    for (const code of ['WRONG_CREDENTIALS', 'WRONG_CREDENTIALS', 'WRONG_CREDENTIALS', 'LOGIN_RATE_LIMITED']) {
      await expect(wrong.login({ name: 'carol', password: 'not her password' })).rejects.toMatchObject({ code });
    }
    const bytes = Buffer.alloc(50_000, 7);
    const card = await offer(alice.files, conv, bytes, 'counted.bin');
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, bytes)).status).toBe(204);
    const download = await fetch(`${parley.url}/api/files/${card.id}/content`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect((await download.arrayBuffer()).byteLength).toBe(50_000);

    const after = (await scrape()).families;
    expect(value(after, 'parley_connections')).toBe(value(before, 'parley_connections') + 2);
    expect(value(after, 'parley_users_online')).toBe(value(before, 'parley_users_online') + 2);
    // Five messages and the file offer's own message.
    expect(value(after, 'parley_messages_committed_total') - value(before, 'parley_messages_committed_total')).toBe(6);
    expect(histogramCount(after, 'parley_commit_batch_size')).toBeGreaterThan(histogramCount(before, 'parley_commit_batch_size'));
    expect(histogramCount(after, 'parley_commit_duration_seconds')).toBeGreaterThan(histogramCount(before, 'parley_commit_duration_seconds'));
    // carol's account allows 3 failures: the fourth attempt is refused by the lockout.
    expect(value(after, 'parley_login_failures_total', { reason: 'wrong_credentials' }) - value(before, 'parley_login_failures_total', { reason: 'wrong_credentials' })).toBe(3);
    expect(value(after, 'parley_login_failures_total', { reason: 'locked_out' }) - value(before, 'parley_login_failures_total', { reason: 'locked_out' })).toBe(1);
    expect(value(after, 'parley_file_bytes_received_total') - value(before, 'parley_file_bytes_received_total')).toBe(50_000);
    expect(value(after, 'parley_file_bytes_sent_total') - value(before, 'parley_file_bytes_sent_total')).toBe(50_000);
    expect(value(after, 'parley_http_requests_total', { method: 'POST', route: '/api/login', status: '401' })).toBe(3);
    aliceLive.close();
    bobLive.close();
  });

  it('counts a client cut off for not reading (4008), and the bytes queued for it meanwhile', async () => {
    const before = (await scrape()).families;
    const sender = await registerUser(parley.url, 'flooder');
    const slowUser = await registerUser(parley.url, 'sleeper');
    const slow = await rawSocket(parley.url, slowUser.token);
    slow.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await slow.next('synced');
    const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const live = await connect(sender.api);
    // The sender reads in this same busy process and may be cut off (and reconnect) too: every
    // 4008 any client saw is counted.
    let cutsSeen = 0;
    live.session.on('state', ({ closeCode }) => {
      if (closeCode === 4008) cutsSeen++;
    });
    const text = 'x'.repeat(4000);
    let sawQueued = 0;
    for (let round = 0; round < 8; round++) {
      await Promise.all(Array.from({ length: 250 }, () => live.session.send(WORLD, text)));
      sawQueued = Math.max(sawQueued, value((await scrape()).families, 'parley_send_queue_bytes'));
    }
    socket.resume();
    expect((await slow.closed).code).toBe(4008);
    live.close();
    const after = (await scrape()).families;
    expect(value(after, 'parley_slow_client_disconnects_total') - value(before, 'parley_slow_client_disconnects_total')).toBe(1 + cutsSeen);
    expect(sawQueued).toBeGreaterThan(0);
  });

  it('refuses a request a proxy forwarded, unless it carries the token, and a wrong token', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    const refused = await fetch(`${parley.url}/metrics`, { headers: forwarded });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="parley-metrics"');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    expect((await fetch(`${parley.url}/metrics`, { headers: { ...forwarded, authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${parley.url}/metrics`, { headers: { forwarded: 'for=203.0.113.7' } })).status).toBe(401);
    await scrape({ ...forwarded, authorization: `Bearer ${TOKEN}` });
  });

  it('refuses other addresses, with a token configured and without', async () => {
    for (const token of [TOKEN, null]) {
      const app = Fastify();
      installErrorHandling(app);
      metricsRoute(app, { registry: new Registry(), token });
      const stranger = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7' });
      expect(stranger.statusCode).toBe(token ? 401 : 404);
      const local = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
      expect(local.statusCode).toBe(200);
      if (token) {
        const withToken = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7', headers: { authorization: `Bearer ${token}` } });
        expect(withToken.statusCode).toBe(200);
      }
      await app.close();
    }
  });
});

describe('the access log and account events', () => {
  it('logs every response with method, route, status, duration and address at info', async () => {
    await fetch(`${parley.url}/healthz`);
    await waitFor(() => logLines.some((line) => line.route === '/healthz'), 'the access line');
    const line = logLines.find((entry) => entry.route === '/healthz')!;
    expect(line).toMatchObject({ level: 30, method: 'GET', route: '/healthz', status: 200, ip: '127.0.0.1' });
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.msg).toMatch(/^access ip=127\.0\.0\.1 "GET \/healthz" 200 [\d.]+ ms$/);
  });

  it('logs register, login, login_failed, lockout and logout where a fail2ban filter finds the address, whatever the name', async () => {
    const dave = new ParleyApi(parley.url);
    await dave.register({ name: 'dave', password: PASSWORD });
    await dave.logout();
    await dave.login({ name: 'dave', password: PASSWORD });
    const crafted = 'ip=6.6.6.6';
    for (const code of ['WRONG_CREDENTIALS', 'WRONG_CREDENTIALS', 'WRONG_CREDENTIALS', 'LOGIN_RATE_LIMITED']) {
      await expect(new ParleyApi(parley.url).login({ name: crafted, password: 'wrong password' })).rejects.toMatchObject({ code });
    }
    await waitFor(() => logLines.filter((line) => line.auth === 'login_failed' || line.auth === 'lockout').length >= 4, 'the failed logins');
    const auth = logLines.filter((line) => typeof line.auth === 'string');
    for (const event of ['register', 'login', 'logout', 'login_failed', 'lockout']) {
      expect(auth.some((line) => line.auth === event && line.level === 30), event).toBe(true);
    }
    // The filter docs/DEPLOYMENT.md gives fail2ban: the address right after the event.
    const failregex = /auth (?:login_failed|lockout) ip=(\S+)/;
    const banned = auth.map((line) => failregex.exec(String(line.msg))?.[1]).filter(Boolean);
    expect(banned.length).toBeGreaterThanOrEqual(4);
    expect(new Set(banned)).toEqual(new Set(['127.0.0.1']));
    expect(auth.find((line) => line.auth === 'login_failed' && line.user === crafted)?.msg).toBe(`auth login_failed ip=127.0.0.1 user="ip=6.6.6.6"`);
  });
});

describe('log lines on a terminal', () => {
  it('reads as time, level, part and message, without repeating what the message says', () => {
    const json = JSON.stringify({ level: 30, time: Date.UTC(2026, 10, 30, 12, 0, 1), service: 'parley', part: 'http', ip: '127.0.0.1', status: 200, msg: 'access ip=127.0.0.1 "GET /healthz" 200 1.2 ms' });
    const line = readableLine(json, false);
    expect(line).toMatch(/^\d{2}:\d{2}:\d{2} INFO  \[http\] access ip=127\.0\.0\.1 "GET \/healthz" 200 1\.2 ms\n$/);
    const warning = readableLine(JSON.stringify({ level: 40, time: 0, service: 'parley', msg: 'careful', dataDir: '/srv/parley' }), false);
    expect(warning).toMatch(/^\d{2}:\d{2}:\d{2} WARN  careful  dataDir=\/srv\/parley\n$/);
  });

  it('starts with a banner that gives the address, the data folder and the certificate fingerprint plainly', () => {
    const fingerprint = 'AB:'.repeat(31) + 'CD';
    const banner = startupBanner({ version: '0.1.0', url: 'https://127.0.0.1:8443', dataDir: '/srv/parley', fingerprint, webClient: true });
    expect(banner).toContain('Parley 0.1.0 is running');
    expect(banner).toMatch(/^  Open +https:\/\/127\.0\.0\.1:8443$/m);
    expect(banner).toMatch(/^  Data +\/srv\/parley$/m);
    expect(banner).toMatch(new RegExp(`^  TLS SHA-256 +${fingerprint}$`, 'm'));
    expect(startupBanner({ version: '0.1.0', url: 'http://127.0.0.1:8080', dataDir: '/d', fingerprint: null, webClient: false })).toContain('the web client is not built');
  });
});
