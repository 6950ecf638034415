import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { Server as SecureServer } from 'node:https';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { FRAME_BURST, FRAME_RATE_PER_SECOND, MAX_HTTP_BODY_BYTES } from '../protocol/index.ts';
import { Accounts, DEFAULT_ACCOUNT_LIMITS, type AccountLimits } from './accounts/accounts.ts';
import { DEVICE_KEY_SECRET, DeviceTokens, freshDeviceKey, loadDeviceKey } from './accounts/device-tokens.ts';
import { People } from './accounts/people.ts';
import { Chat } from './chat/chat.ts';
import { Online } from './chat/online.ts';
import type { OnlineDirectory } from './chat/online-directory.ts';
import { MessageReplay } from './chat/replay.ts';
import { SendRate } from './chat/send-rate.ts';
import type { Bus } from './events/bus.ts';
import { InProcessBus } from './events/in-process-bus.ts';
import { BusRecovery } from './events/bus-recovery.ts';
import { DEFAULT_ORDERED_DELIVERY, OrderedDelivery } from './events/ordered-delivery.ts';
import { clusterWideSettings, type Config } from './config.ts';
import type { Connection } from './gateway/connection.ts';
import { Gateway } from './gateway/gateway.ts';
import { SessionRecheck } from './gateway/session-recheck.ts';
import { Hub } from './gateway/hub.ts';
import { accountRoutes } from './http/account-routes.ts';
import { conversationRoutes } from './http/conversation-routes.ts';
import { edgePolicy, servedNames } from './edge/edge-policy.ts';
import { installEdgeGuards } from './http/edge-guards.ts';
import { clientErrors, frameworkErrors, installErrorHandling } from './http/errors.ts';
import { webClientMissing, webRoutes } from './http/web-routes.ts';
import { fileRoutes } from './http/file-routes.ts';
import { roomRoutes } from './http/room-routes.ts';
import { Rooms } from './rooms/rooms.ts';
import { exportRoutes } from './http/export-routes.ts';
import { accessLog } from './http/access-log.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { createMetrics } from './metrics/metrics.ts';
import { createLogger } from './logging/logger.ts';
import { meteredStore } from './metrics/metered-store.ts';
import { EXPORTS_AT_ONCE, exportLines } from './backup/export.ts';
import { sqliteExportSnapshots } from './backup/sqlite-export.ts';
import { DATABASE_FILE } from './backup/data-folder.ts';
import type { BlobStore } from './files/blob-store.ts';
import { Files } from './files/files.ts';
import { fileStorageFor } from './files/file-storage.ts';
import { Transfers } from './files/transfers.ts';
import { UploadSessions } from './files/upload-sessions.ts';
import { openStore } from './storage/open-store.ts';
import type { Store } from './storage/store.ts';
import { loadTls, type TlsMaterial } from './tls/load-tls.ts';
import { machineNames, thisMachine, type Machine } from './tls/machine-names.ts';
import { renewSelfSigned } from './tls/renewal.ts';
import { AcmeCertificates } from './tls/acme.ts';
import { acmeStoreFor } from './tls/acme-store-for.ts';
import { systemClock, type Clock } from './clock.ts';

export interface RunningParley {
  /** Where the server listens, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /**
   * SIGHUP with --tls-cert/--tls-key: reads both files again and serves them to new connections
   * (open ones keep theirs: nothing is dropped). The new fingerprint; null when not serving files.
   */
  reloadCertificate(): Promise<string | null>;
  /** SHA-256 fingerprint of the TLS certificate, when serving TLS. */
  tlsFingerprint: string | null;
  log: Logger;
  /** Stops accepting, finishes pending commits, closes sockets with "going away", closes the database. */
  close(): Promise<void>;
  /** For tests: how many interrupted uploads have a running hash kept in memory. */
  keptUploadHashes(): number;
  /** For tests: how many WebSocket sessions are open (a close is counted once the server has handled it). */
  openSockets(): number;
}

export interface StartOptions {
  logger?: Logger;
  accountLimits?: AccountLimits;
  /** Where file bytes go; local disk under `<data>/files` by default. */
  blobs?: BlobStore;
  /** File cards per step of the file catch-up after hello (small in tests, to cross batches). */
  fileCatchUpBatch?: number;
  /** How often a cluster node checks its connections' sessions against the database (SESSION_RECHECK_MS; tests shorten it). */
  sessionRecheckMs?: number;
  /** The time, for expiry, rate limits (the login throttle too), heartbeats and timeouts; tests move it by hand. */
  clock?: Clock;
  /** The machine's addresses and host name, for the self-signed certificate; tests pass their own. */
  machine?: Machine;
}

type SchemaCompilers = Required<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>>;
// Resolved from fastify's own folder: the packages it depends on, wherever npm placed them.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));

/**
 * Fastify's JSON-schema compilers (ajv and fast-json-stringify), the very ones it would build,
 * loaded when a route with a schema first needs one. Parley validates with zod and declares no
 * fastify schemas, so a server never loads them: about 35 ms of start-up CPU and 2.4 MB less held
 * (docs/PERFORMANCE.md, "Start-up and idle memory").
 */
function onDemandSchemaCompilers(): SchemaCompilers {
  let loaded: SchemaCompilers | null = null;
  const load = (): SchemaCompilers =>
    (loaded ??= {
      buildValidator: (fastifyRequire('@fastify/ajv-compiler') as () => SchemaCompilers['buildValidator'])(),
      buildSerializer: (fastifyRequire('@fastify/fast-json-stringify-compiler') as () => SchemaCompilers['buildSerializer'])(),
    });
  return {
    buildValidator: (...args) => load().buildValidator(...args),
    buildSerializer: (...args) => load().buildSerializer(...args),
  };
}

/** The PostgreSQL connections of this node's exports (none is made until an export runs). */
async function openExportPool(url: string) {
  const [{ Database }, { EXPORT_CONNECTIONS }] = await Promise.all([import('./storage/postgres/database.ts'), import('./backup/postgres-export.ts')]);
  return new Database(url, EXPORT_CONNECTIONS);
}

/** Wires the parts together and starts listening. */
export async function startParley(config: Config, options: StartOptions = {}): Promise<RunningParley> {
  const log = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  // The data folder holds password and session hashes and the TLS key: only its owner may look
  // in. An existing folder keeps the permissions its owner gave it.
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const machine = options.machine ?? thisMachine;
  let listeningPort = config.port;
  const databaseFile = join(config.dataDir, DATABASE_FILE);
  // Opened before the certificate is: in a cluster, ACME's account, certificate and challenges are in the database.
  const opened = await openStore(config.database, databaseFile, config.durability);
  const acmeLog = log.child({ part: 'acme' });
  const acme = config.tls.kind === 'acme'
    ? new AcmeCertificates(config.tls, acmeStoreFor(opened.store, config.database.kind, config.dataDir, acmeLog), acmeLog, clock)
    : null;
  let tls: TlsMaterial | null;
  try {
    // The challenge port is up before the CA is asked, so it can check this machine answers for the domain.
    await acme?.listen(config.host, () => listeningPort);
    tls = acme ? await acme.current() : await loadTls(config.tls, config.dataDir, machineNames(config.host, config.tlsNames, machine));
  } catch (error) {
    await acme?.close();
    await opened.store.close();
    throw error;
  }
  const edge = edgePolicy(config, tls);
  const metrics = createMetrics({
    connections: () => hub.connections().size,
    usersOnline: () => online.users().length,
    queuedBytes: () => {
      let bytes = 0;
      for (const connection of hub.connections()) bytes += connection.queuedBytes;
      return bytes;
    },
    ...(config.redisUrl
      ? { redisUp: () => (cluster?.connected ? 1 : 0), clusterNodes: () => nodes?.nodesRunning ?? 1, redisClockOffset: () => (cluster?.clockOffset.ms ?? 0) / 1000 }
      : {}),
  });
  const store: Store = meteredStore(opened.store, metrics.events);
  const accountLimits = options.accountLimits ?? DEFAULT_ACCOUNT_LIMITS;
  // The message path (docs/ARCHITECTURE.md, "Events and the Bus"): the domain commits, then
  // publishes events with their audience on the bus; this node's gateway subscribes through
  // OrderedDelivery (order, repeats, holes filled from storage) and only routes them.
  // With --redis the bus, presence and limits are shared by every node (docs/ARCHITECTURE.md, "Across nodes").
  // On PostgreSQL every node registers: a node without Redis beside another node is refused, and so
  // are a node on another Redis server than the others and a cluster on another's Redis (docs/DEPLOYMENT.md, "Cluster").
  // Redis is connected first, so that the registration records which Redis server this node reaches.
  const cluster = config.redisUrl
    ? await (await import('./redis/cluster.ts')).RedisCluster.connect(config.redisUrl, log, clock, metrics.events).catch(async (error: unknown) => {
        await store.close();
        throw error;
      })
    : null;
  const nodes = config.database.kind === 'postgres'
    ? await (await import('./storage/postgres/node-registry.ts')).NodeRegistry
        .join(config.database.url, cluster !== null, { ...(cluster ? { redis: cluster } : {}), log: log.child({ part: 'cluster' }), settings: clusterWideSettings(config) })
        .catch(async (error: unknown) => {
          await cluster?.close();
          await store.close();
          throw error;
        })
    : null;
  const bus: Bus = cluster?.bus ?? new InProcessBus(log.child({ part: 'bus' }));
  // What one node stamps and another compares (a message's time, when this node began to hear a
  // user) goes by the cluster's time (RedisCluster.time); on one node it is the node's own.
  const time = cluster?.time ?? clock;
  // Events for a few users go only to the nodes that hold them, once every node running can hear them so.
  if (cluster && nodes) await nodes.watchRouting((everyNodeRoutes, running) => cluster.bus.routeWhen(everyNodeRoutes, running));
  // Presence corrections go to this node's clients only, through its own delivery (made just below).
  const online: OnlineDirectory = cluster ? await cluster.online({ publish: (event) => delivery.accept(event) }) : new Online(bus);
  const hub = new Hub<Connection>(log.child({ part: 'gateway' }), online, cluster?.bus, () => time.now());
  const delivery = new OrderedDelivery(
    new MessageReplay(store),
    (event) => hub.route(event),
    time,
    log.child({ part: 'delivery' }),
    { ...DEFAULT_ORDERED_DELIVERY, onHoleFill: () => metrics.events.holeFilled() },
    (event) => hub.heardSince(event),
  );
  const unsubscribe = bus.subscribe(delivery.accept);
  // Events lost while Redis (or another node's link to it) was away are read from storage at once,
  // for every conversation of every user connected here (docs/ARCHITECTURE.md, "Across nodes").
  const recovery = new BusRecovery(
    delivery,
    {
      localUsers: () => hub.users(),
      conversationsOf: (user) => store.conversationsOf(user),
      membershipsChangedSince: (userIds, rev) => store.membershipsChangedSince(userIds, rev),
      roomMembersChangedSince: (convs, rev) => store.rooms.membersChangedSince(convs, rev),
      departuresOf: (userIds, rev) => store.rooms.departuresOf(userIds, rev),
      filesChangedSince: (userId, rev, limit) => store.files.changedSince(userId, rev, limit),
    },
    log.child({ part: 'delivery' }),
    await store.lastRev(),
  );
  const stopLost = cluster?.bus.onLost(() => recovery.lost()) ?? (() => {});
  const stopResumed = cluster?.bus.onResumed((gap) => void recovery.resumed(gap)) ?? (() => {});
  const stopRecheck = () => {
    stopLost();
    stopResumed();
  };
  // Every node must verify the device tokens any node signed: on PostgreSQL the key is in the database.
  const devices = new DeviceTokens(
    opened.sharedSecret ? await opened.sharedSecret(DEVICE_KEY_SECRET, freshDeviceKey()) : await loadDeviceKey(config.dataDir),
  );
  const accounts = new Accounts(store, { devices, events: bus, limits: accountLimits, now: () => clock.now(), ...(cluster ? { counters: cluster.failureCounters() } : {}) });
  const rekeyed = await accounts.upgradeNameKeys();
  if (rekeyed > 0) log.info({ users: rekeyed }, 'gave user names their keys under the current name rules');
  const sendLimits = { perSecond: config.sendRatePerSecond, burst: config.sendBurst };
  // One budget per user for everything that writes what others receive: messages, room changes.
  const sendLimiter = cluster ? cluster.sendLimiter(sendLimits) : new SendRate(sendLimits, clock);
  const chat = new Chat(store, bus, time, sendLimiter);
  const rooms = new Rooms(store, bus, online, time, sendLimiter);
  const people = new People(store, online);
  const fileStorage = fileStorageFor(opened.store, config.database.kind, config.dataDir);
  const blobs = options.blobs ?? fileStorage.blobs;
  const uploads = new UploadSessions(fileStorage.leases, clock);
  const files = new Files(store, chat, blobs, bus, config.files, log.child({ part: 'files' }), uploads, clock, fileStorage.sweeps);
  const transfers = new Transfers(files, uploads, metrics.events);
  // An export reads a snapshot of its own: of the SQLite file, or of PostgreSQL through a small pool of
  // its own, so that downloads, which last as long as their readers, never hold the connections commits need.
  const exportPool = config.database.kind === 'postgres' ? await openExportPool(config.database.url) : null;
  const openExport = exportPool ? (await import('./backup/postgres-export.ts')).postgresExportSnapshots(exportPool) : sqliteExportSnapshots(databaseFile);

  const app: FastifyInstance = Fastify({
    loggerInstance: log.child({ part: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_HTTP_BODY_BYTES,
    // A peer that stopped reading a download or sending an upload would otherwise hold its socket,
    // file and upload for ever. WebSocket sessions are not affected (ws clears the timeout; the
    // heartbeat watches them).
    connectionTimeout: config.httpIdleTimeoutMs,
    frameworkErrors,
    clientErrorHandler: clientErrors(edge.responseHeaders),
    schemaController: { compilersFactory: onDemandSchemaCompilers() },
    trustProxy: edge.trust,
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
  });
  installEdgeGuards(app, edge);
  installErrorHandling(app);
  accessLog(app, log.child({ part: 'http' }), metrics.events);
  let serving = true;
  app.get('/healthz', async (_request, reply) => {
    if (!serving) return reply.status(503).send({ ok: false });
    // A node without Redis or PostgreSQL still answers 200 and says which part is down: every node shares
    // both, so taking it out of the balancer would help nobody (docs/DEPLOYMENT.md, "When a part fails").
    const database = nodes ? { database: (await nodes.reachable()) ? 'up' : 'down' } : {};
    // "cluster": whether the nodes on this database and this Redis make one cluster (NodeRegistry.clusterState).
    return cluster
      ? { ok: true, ...database, redis: cluster.connected ? 'up' : 'down', ...(nodes ? { cluster: nodes.clusterState, settings: nodes.settingsState } : {}) }
      : { ok: true, ...database };
  });
  const secureCookies = tls !== null || config.behindTlsProxy;
  accountRoutes(app, { accounts, secureCookies, sessionTtlMs: accountLimits.sessionTtlMs });
  roomRoutes(app, { accounts, rooms, people });
  conversationRoutes(app, { accounts, chat, presence: online });
  fileRoutes(app, { accounts, files, transfers, maxFileBytes: config.files.maxFileBytes });
  metricsRoute(app, { registry: metrics.registry, token: config.metricsToken });
  exportRoutes(app, { accounts, maxRunning: EXPORTS_AT_ONCE, exportUser: (userId) => exportLines(openExport, { kind: 'user', userId }) });
  if (config.webRoot) webRoutes(app, config.webRoot);
  else webClientMissing(app);

  // In a cluster an ended session's event can be lost with Redis: each node also asks the
  // database which of its connections' sessions still live (gateway/session-recheck.ts).
  const sessionRecheck = cluster
    ? new SessionRecheck(hub, (keys) => accounts.liveSessionKeys(keys), log.child({ part: 'gateway' }), clock, options.sessionRecheckMs)
    : null;
  const stopSessionRecheckOnResume = cluster?.bus.onResumed(() => void sessionRecheck?.run()) ?? (() => {});
  const gateway = new Gateway(app.server as Server, accounts, chat, hub, {
    path: '/ws',
    clock,
    edge,
    heartbeatMs: config.heartbeatMs,
    maxQueuedBytes: config.maxQueuedBytes,
    helloTimeoutMs: config.helloTimeoutMs,
    maxConnectionsPerUser: config.maxConnectionsPerUser,
    maxFileBytes: config.files.maxFileBytes,
    frameRatePerSecond: Math.max(FRAME_RATE_PER_SECOND, 2 * config.sendRatePerSecond),
    frameBurst: Math.max(FRAME_BURST, 2 * config.sendBurst),
    onSlowClientCut: () => metrics.events.slowClientCut(),
    ...(options.fileCatchUpBatch ? { fileCatchUpBatch: options.fileCatchUpBatch } : {}),
  });

  await app.listen({ host: config.host, port: config.port });
  files.start();
  /** New connections get `material`; open ones keep the certificate they were made with. */
  const useCertificate = (material: TlsMaterial) => {
    (app.server as unknown as SecureServer).setSecureContext({ cert: material.cert, key: material.key });
    edge.hosts.replace(servedNames(config, material.cert));
    tls = material;
  };
  if (config.tls.kind === 'self-signed' && config.redisUrl) {
    log.warn("--tls self-signed in a cluster: each node makes its own certificate, so people are asked to trust each node's fingerprint; use --tls acme, certificate files, or TLS at the balancer (docs/DEPLOYMENT.md, \"TLS\")");
  }
  const stopRenewal =
    config.tls.kind === 'self-signed'
      ? renewSelfSigned({
          dataDir: config.dataDir,
          host: config.host,
          extraNames: config.tlsNames,
          machine,
          clock,
          use: (material: TlsMaterial) => {
            useCertificate(material);
            log.info({ fingerprint: material.fingerprint }, `The machine's addresses changed: new self-signed certificate, SHA-256 fingerprint ${material.fingerprint}`);
          },
          onError: (error) => log.error({ err: error }, 'could not renew the self-signed certificate'),
        })
      : () => {};
  const stopAcmeRenewal =
    acme?.startRenewal((material) => {
      useCertificate(material);
      log.info({ fingerprint: material.fingerprint }, `ACME: renewed certificate in use for new connections, SHA-256 ${material.fingerprint}`);
    }, () => tls?.fingerprint ?? null) ?? (() => {});
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  listeningPort = port;
  const hostForUrl = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    get tlsFingerprint() {
      return tls?.fingerprint ?? null;
    },
    log,
    keptUploadHashes: () => uploads.keptHashes,
    async reloadCertificate() {
      if (config.tls.kind !== 'files') return null;
      const material = await loadTls(config.tls, config.dataDir, []);
      if (!material) return null;
      useCertificate(material);
      return material.fingerprint;
    },
    openSockets: () => hub.connections().size,
    close: () =>
      (closing ??= (async () => {
        serving = false;
        stopRenewal();
        stopAcmeRenewal();
        await acme?.close();
        await gateway.close();
        files.stop();
        await transfers.close();
        await chat.drain();
        await app.close();
        await exportPool?.close();
        online.stop();
        unsubscribe();
        stopRecheck();
        stopSessionRecheckOnResume();
        sessionRecheck?.stop();
        delivery.stop();
        // The goodbye before Redis closes: the cluster's last node withdraws its announcement there.
        await nodes?.leave();
        await cluster?.close();
        await store.close();
      })()),
  };
}
