import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServerEvents } from './server-events.ts';

/** Live figures read at each scrape from the parts that hold them. */
export interface MetricSources {
  connections(): number;
  usersOnline(): number;
  queuedBytes(): number;
}

export interface Metrics {
  registry: Registry;
  events: ServerEvents;
}

/**
 * Parley's Prometheus metrics (docs/DEPLOYMENT.md, "Metrics"): counters and histograms fed by
 * ServerEvents, gauges read from `sources` when scraped, and Node's process metrics (event-loop
 * lag, memory, CPU, handles) from prom-client's defaults.
 */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge('parley_connections', 'Open WebSocket connections.', sources.connections);
  gauge('parley_users_online', 'Users with at least one live session.', sources.usersOnline);
  gauge('parley_send_queue_bytes', 'Bytes queued for sending over all WebSocket connections.', sources.queuedBytes);

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const messages = counter('parley_messages_committed_total', 'Messages committed (acknowledged once durable).');
  const slowCuts = counter('parley_slow_client_disconnects_total', 'Connections closed because their send queue overflowed (4008).');
  const loginFailures = counter('parley_login_failures_total', 'Refused logins, by reason.', ['reason']);
  const fileIn = counter('parley_file_bytes_received_total', 'File bytes received in uploads.');
  const fileOut = counter('parley_file_bytes_sent_total', 'File bytes sent in downloads.');
  const requests = counter('parley_http_requests_total', 'HTTP responses, by method, route and status.', ['method', 'route', 'status']);
  const batchSize = new Histogram({
    name: 'parley_commit_batch_size',
    help: 'Messages per group commit (one transaction).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'parley_commit_duration_seconds',
    help: 'Time to commit one batch, fsync included.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  for (const reason of ['wrong_credentials', 'locked_out']) loginFailures.inc({ reason }, 0);

  return {
    registry,
    events: {
      committed(count, seconds) {
        messages.inc(count);
        batchSize.observe(count);
        commitSeconds.observe(seconds);
      },
      slowClientCut: () => slowCuts.inc(),
      loginFailed: (reason) => loginFailures.inc({ reason }),
      fileBytesIn: (bytes) => fileIn.inc(bytes),
      fileBytesOut: (bytes) => fileOut.inc(bytes),
      httpResponse: (method, route, status) => requests.inc({ method, route, status: String(status) }),
    },
  };
}
