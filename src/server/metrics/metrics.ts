import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServerEvents } from './server-events.ts';

/** Live figures read at each scrape from the parts that hold them. */
export interface MetricSources {
  connections(): number;
  usersOnline(): number;
  queuedBytes(): number;
  /** Cluster mode only: 1 while every connection to Redis is up, else 0. */
  redisUp?(): number;
  /** Cluster mode only: the nodes running on the database, as this node's last heartbeat counted them. */
  clusterNodes?(): number;
  /** Cluster: seconds to add to this machine's clock to get Redis's. */
  redisClockOffset?(): number;
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
  if (sources.redisUp) gauge('parley_redis_up', 'Cluster: 1 while this node is connected to Redis, else 0.', sources.redisUp);
  if (sources.clusterNodes) gauge('parley_cluster_nodes', 'Cluster: nodes running on the database (counted at each heartbeat).', sources.clusterNodes);
  if (sources.redisClockOffset) {
    gauge('parley_redis_clock_offset_seconds', "Cluster: Redis's clock minus this machine's (measured every minute); presence and send limits use Redis's.", sources.redisClockOffset);
  }

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const messages = counter('parley_messages_committed_total', 'Messages committed (acknowledged once durable).');
  const slowCuts = counter('parley_slow_client_disconnects_total', 'Connections closed because their send queue overflowed (4008).');
  const loginFailures = counter('parley_login_failures_total', 'Refused logins, by reason.', ['reason']);
  const fileIn = counter('parley_file_bytes_received_total', 'File bytes received in uploads.');
  const fileOut = counter('parley_file_bytes_sent_total', 'File bytes sent in downloads.');
  const requests = counter('parley_http_requests_total', 'HTTP responses, by method, route and status.', ['method', 'route', 'status']);
  const holeFills = counter('parley_delivery_hole_fills_total', 'Messages that arrived after a missing one, whose gap was then read from storage.');
  // The bus's counters exist in cluster mode only: a single node has no Redis to count.
  const bus = sources.redisUp
    ? {
        published: counter('parley_bus_envelopes_published_total', 'Cluster: envelopes of this node\'s events published to Redis.'),
        failed: counter('parley_bus_publish_failures_total', 'Cluster: turns whose events could not be published (read from storage by the other nodes later).'),
        received: counter('parley_bus_events_received_total', 'Cluster: events of other nodes received through Redis.'),
        readBacks: counter('parley_bus_read_backs_total', 'Cluster: times this node read storage for events the bus may have lost, by cause.', ['cause']),
      }
    : null;
  if (bus) for (const cause of ['reconnected', 'notice', 'late_subscription']) bus.readBacks.inc({ cause }, 0);
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
      busPublished: (envelopes) => bus?.published.inc(envelopes),
      busPublishFailed: () => bus?.failed.inc(),
      busReceived: (events) => bus?.received.inc(events),
      busReadBack: (cause) => bus?.readBacks.inc({ cause }),
      holeFilled: () => holeFills.inc(),
    },
  };
}
