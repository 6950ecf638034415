import { performance } from 'node:perf_hooks';
import { dmId, WORLD } from '../../src/protocol/index.ts';
import { hasPostgres, TestPostgres } from '../../test/support/postgres.ts';
import { hasRedis, startRedis, type PrivateRedis } from '../../test/support/redis.ts';
import { DIALECTS, type Dialect } from '../load/dialects.ts';
import type { RawClient } from '../load/raw-ws.ts';
import { cpuSeconds, cpuSince, mainThreadSeconds, mainThreadWakeups, systemSeconds, processesMatching, sleep, treeCpuSeconds } from '../lib/processes.ts';
import type { BenchContext, ScenarioReport, TargetCheck } from '../lib/report.ts';
import { benchTempDir } from '../lib/seed.ts';
import { startServer, type ServerUnderTest } from '../lib/servers.ts';
import type { BenchUser, Target } from '../lib/targets.ts';
import { percentileOfSorted } from '../stats.ts';

const percentile = (values: number[], p: number) => percentileOfSorted(Float64Array.from(values).sort(), p);

/**
 * `--only cluster`: world fan-out and DMs with clients spread over 1 node (PostgreSQL, no Redis)
 * and 3 nodes (PostgreSQL + Redis), all on this machine, with a private PostgreSQL and Redis as
 * the tests start them. docs/PERFORMANCE.md, "Cluster", gives the method; in short:
 * - the peak is found on one node, for world messages and for DMs each (a DM brings 2
 *   deliveries where a world message brings one per user, so their peaks differ); both layouts
 *   then run each kind at half of that one-node peak: the same offered load. The two layouts
 *   run side by side and are measured in turn, in rounds with the order alternating, so a shared
 *   machine's drifting load falls on both alike; the targets take the median of the rounds;
 * - CPU is read per part: the nodes, Redis and PostgreSQL (its postmaster and backends), in both
 *   layouts alike (Redis runs idle beside the single node). Deliveries per CPU-second count the
 *   nodes and Redis, all the bus costs; with PostgreSQL too is shown beside it;
 * - latency is from the send to the delivery, both read on this process's clock, split into
 *   same-node and cross-node deliveries; this process's own CPU is reported, so a reading where
 *   the load generator (not the nodes) was the limit shows as such;
 * - each layout warms up on each kind (JIT, pools, the DMs' conversations created) before it is measured;
 * - world messages are measured at two widths: to the base clients, and (`wide`) to several
 *   times as many at as many deliveries a second; the bus costs per message, a node per delivery;
 * - the nodes' CPU is split into kernel time, main threads (the event loops) and helper threads,
 *   and their wake-ups counted: where a cluster's extra cost lies;
 * - two reference peers run the same world and DM load, in the same rounds, as 1 process and as 3
 *   joined by Redis: Socket.IO with its own Redis adapter (how Socket.IO scales a chat), and
 *   ws-ceiling with a bare Redis relay (the least a relay between processes can do). Neither
 *   stores anything; their 3 ÷ 1 ratios show what this machine lets any design on Node.js and
 *   Redis reach at this load, beside Parley's.
 */
const PASSWORD = 'bench-cluster-password-1';

interface Node {
  server: ServerUnderTest;
  index: number;
}
interface Client {
  user: BenchUser;
  node: number;
  socket: RawClient;
}

interface Sample {
  sent: number;
  expected: number;
  delivered: number;
  /** CPU seconds of the nodes, Redis and PostgreSQL, and of this process (the load generator). */
  cpu: number;
  /** Of `cpu`, the part spent in the kernel (socket writes and reads, wake-ups). */
  systemCpu: number;
  /** Of `cpu`, the nodes' main threads (the event loop); the rest is V8's and libuv's helper threads (GC, compiling, hashing). */
  mainCpu: number;
  /** The nodes' event loops' wake-ups (voluntary context switches of their main threads). */
  wakeups: number;
  redisCpu: number;
  postgresCpu: number;
  generatorCpu: number;
  seconds: number;
  local: number[];
  cross: number[];
}

async function register(port: number, i: number): Promise<BenchUser> {
  // The bench registers more users than one address may in an hour: each comes "from" its own address.
  const reply = await fetch(`http://127.0.0.1:${port}/api/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.77.${i >> 8}.${i & 255}` },
    body: JSON.stringify({ name: `cluster${i}`, password: PASSWORD }),
  });
  if (!reply.ok) throw new Error(`register cluster${i}: ${reply.status} ${await reply.text()}`);
  const body = (await reply.json()) as { token: string; user: { id: number; name: string } };
  return { id: body.user.id, name: body.user.name, token: body.token };
}

async function startLayout(ctx: BenchContext, postgres: TestPostgres, redis: PrivateRedis, count: number): Promise<Node[]> {
  const database = await postgres.createDatabase();
  const flags = ['--database', database, '--trust-proxy', '127.0.0.1', ...(count > 1 ? ['--redis', redis.url] : [])];
  const nodes: Node[] = [];
  for (let index = 0; index < count; index++) {
    const cpuProfDir = ctx.profileDir ? `${ctx.profileDir}/cluster-${count}-node${index}` : undefined;
    const server = await startServer('parley', ctx.pinning, { dataDir: benchTempDir(`cluster-${count}-${index}`), flags, ...(cpuProfDir ? { cpuProfDir } : {}) });
    nodes.push({ server, index });
  }
  return nodes;
}

/** The reference peers measured beside Parley, each as 1 process and as 3 joined by Redis (`--redis`). */
const CLUSTER_PEERS = ['socketio', 'ws-ceiling'] as const satisfies readonly Target[];
type ClusterPeer = (typeof CLUSTER_PEERS)[number];

async function startPeerLayout(ctx: BenchContext, redis: PrivateRedis, peer: ClusterPeer, count: number): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let index = 0; index < count; index++) {
    const server = await startServer(peer, ctx.pinning, { flags: count > 1 ? ['--redis', redis.url] : [] });
    nodes.push({ server, index });
  }
  return nodes;
}

/** Connects `count` peer users (a peer takes the id on trust), user i to process i mod n. */
function connectPeerClients(nodes: Node[], peer: ClusterPeer, count: number): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const user: BenchUser = { id: i + 1, name: `peer${i + 1}`, token: '' };
      const node = i % nodes.length;
      const socket = await DIALECTS[peer].open(nodes[node]!.server.port, user, true);
      answerPings(socket, DIALECTS[peer]);
      return { user, node, socket };
    }),
  );
}

/** Between measurements a client only answers the server's heartbeat (Engine.IO's, for Socket.IO), so an idle connection stays open. */
function answerPings(socket: RawClient, dialect: Dialect): void {
  socket.onFrame = (frameKind) => {
    if (frameKind === 'ping' && dialect.pong) socket.sendText(dialect.pong);
  };
}

/** Registers users `from` .. `to` - 1 and connects each to node i mod n. */
async function connectClients(nodes: Node[], to: number, from = 0): Promise<Client[]> {
  const registered: BenchUser[] = [];
  for (let i = from; i < to; i++) registered.push(await register(nodes[0]!.server.port, i));
  return Promise.all(
    registered.map(async (user, k) => {
      const node = (from + k) % nodes.length;
      return { user, node, socket: await DIALECTS.parley.open(nodes[node]!.server.port, user, true) };
    }),
  );
}

/** Sends `rate` messages a second for `seconds` (world: from a few senders; dm: between neighbours, who sit on different nodes), then waits for delivery. */
/** The processes of the private PostgreSQL and Redis, whose CPU is read with the nodes'. */
interface Backing {
  redis: number[];
  postgres: number[];
}

async function measure(nodes: Node[], clients: Client[], backing: Backing, kind: 'world' | 'dm', rate: number, seconds: number, dialect: Dialect = DIALECTS.parley): Promise<Sample> {
  const sample: Sample = { sent: 0, expected: 0, delivered: 0, cpu: 0, systemCpu: 0, mainCpu: 0, wakeups: 0, redisCpu: 0, postgresCpu: 0, generatorCpu: 0, seconds, local: [], cross: [] };
  for (const client of clients) {
    client.socket.onFrame = (frameKind, payload) => {
      if (frameKind === 'ping' && dialect.pong) client.socket.sendText(dialect.pong);
      if (frameKind !== 'message' || !payload) return;
      const text = dialect.messageText(payload);
      if (!text?.startsWith('b:')) return;
      const [, from, at] = text.split(':');
      sample.delivered++;
      (Number(from) === client.node ? sample.local : sample.cross).push(performance.timeOrigin + performance.now() - Number(at));
    };
  }
  const senders = kind === 'world' ? clients.slice(0, Math.min(4, clients.length)) : clients;
  const cpuBefore = nodes.reduce((sum, node) => sum + cpuSeconds(node.server.pid), 0);
  const systemBefore = nodes.reduce((sum, node) => sum + systemSeconds(node.server.pid), 0);
  const mainBefore = nodes.reduce((sum, node) => sum + mainThreadSeconds(node.server.pid), 0);
  const wakeupsBefore = nodes.reduce((sum, node) => sum + mainThreadWakeups(node.server.pid), 0);
  const redisBefore = treeCpuSeconds(backing.redis);
  const postgresBefore = treeCpuSeconds(backing.postgres);
  const generatorBefore = process.cpuUsage();
  const started = performance.now();
  const total = Math.round(rate * seconds);
  let seq = 0;
  while (sample.sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sample.sent < due; sample.sent++) {
      const sender = senders[seq % senders.length]!;
      const peer = clients[(clients.indexOf(sender) + 1) % clients.length]!;
      const conv = kind === 'world' ? WORLD : dmId(sender.user.id, peer.user.id);
      sample.expected += kind === 'world' ? clients.length : 2;
      sender.socket.sendText(dialect.encodeSend(conv, `b${seq++}-${Date.now()}`, `b:${sender.node}:${performance.timeOrigin + performance.now()}`));
    }
    await sleep(5);
  }
  const deadline = performance.now() + 10_000;
  while (sample.delivered < sample.expected && performance.now() < deadline) await sleep(20);
  for (const client of clients) answerPings(client.socket, dialect);
  sample.cpu = nodes.reduce((sum, node) => sum + cpuSeconds(node.server.pid), 0) - cpuBefore;
  sample.systemCpu = nodes.reduce((sum, node) => sum + systemSeconds(node.server.pid), 0) - systemBefore;
  sample.mainCpu = nodes.reduce((sum, node) => sum + mainThreadSeconds(node.server.pid), 0) - mainBefore;
  sample.wakeups = nodes.reduce((sum, node) => sum + mainThreadWakeups(node.server.pid), 0) - wakeupsBefore;
  sample.redisCpu = cpuSince(redisBefore, treeCpuSeconds(backing.redis));
  sample.postgresCpu = cpuSince(postgresBefore, treeCpuSeconds(backing.postgres));
  const generator = process.cpuUsage(generatorBefore);
  sample.generatorCpu = (generator.user + generator.system) / 1e6;
  sample.seconds = (performance.now() - started) / 1000;
  return sample;
}

const ms = (values: number[], p: number) => (values.length ? `${percentile(values, p).toFixed(1)}` : '–');
/** The kinds whose one-node peak is searched. */
const KINDS = ['world', 'dm'] as const;
type Kind = (typeof KINDS)[number];
/**
 * What is measured in both layouts: world and DMs with the base clients, and `wide`: world
 * messages to every client of a larger set, at a rate giving the same deliveries a second as
 * `world` (fewer messages, each to more clients). A message costs the bus the same whatever its
 * audience; a delivery costs each node the same whatever the layout. The wider the fan-out, the
 * smaller the bus's share: `world` and `wide` show the ratio at two widths.
 */
const READINGS = ['world', 'dm', 'wide'] as const;
type Reading = (typeof READINGS)[number];

/** Climbs the message rate of `kind` on `nodes` until fewer than 95% are delivered in time or p99 passes 1 s; the last rate that held. */
async function findPeak(ctx: BenchContext, nodes: Node[], clients: Client[], backing: Backing, kind: Kind): Promise<number> {
  const rates = kind === 'world' ? [20, 40, 80, 160, 320, 640, 1280, 2560] : [40, 80, 160, 320, 640, 1280, 2560, 5120];
  let peak = 0;
  for (const rate of rates) {
    const sample = await measure(nodes, clients, backing, kind, rate, ctx.quick ? 3 : 5);
    const p99 = sample.local.length ? percentile(sample.local, 99) : Infinity;
    ctx.log(`  peak search, ${kind}: ${rate} msg/s → ${(sample.delivered / sample.seconds).toFixed(0)} deliveries/s, p99 ${p99.toFixed(0)} ms, load generator ${(sample.generatorCpu / sample.seconds).toFixed(2)} cores`);
    if (sample.delivered < 0.95 * sample.expected || p99 > 1000) break;
    peak = rate;
  }
  if (peak === rates.at(-1)) ctx.log(`  (the ${kind} ramp ended at ${peak} msg/s before the peak: "half of peak" is half of that, lower than the real one)`);
  // Whatever an overloaded step left queued is let through before the next measurement.
  await sleep(2000);
  return peak;
}

export async function clusterScenario(ctx: BenchContext): Promise<Omit<ScenarioReport, 'seconds'>> {
  const base = { scenario: 'cluster', title: 'Cluster: world fan-out and DMs over 1 and 3 nodes (PostgreSQL, Redis)' };
  if (!hasPostgres || !hasRedis) {
    return { ...base, status: 'pending', settings: {}, parley: null, peers: {}, ratios: {}, targets: [], rounds: [], tables: [],
      notes: ['needs PostgreSQL and Redis binaries (the Debian packages .ci/run installs)'] };
  }
  const users = ctx.quick ? 60 : 150;
  const wideUsers = ctx.quick ? 300 : 1000;
  // PARLEY_BENCH_CLUSTER_PEAKS=world:1280,dm:160 takes these as the one-node peaks instead of
  // searching: to compare two builds at the same rates when the machine's load moves the peak.
  const fixedPeaks = parsePeaks(process.env.PARLEY_BENCH_CLUSTER_PEAKS);
  const seconds = ctx.quick ? 4 : 10;
  const [postgres, redis] = await Promise.all([TestPostgres.start(), startRedis()]);
  const backing: Backing = { redis: processesMatching(`redis-server 127.0.0.1:${redis.port}`), postgres: processesMatching(`-D ${postgres.dir}/data`) };
  if (backing.redis.length === 0 || backing.postgres.length === 0) ctx.log('  (could not find the Redis or PostgreSQL process: their CPU reads as 0)');
  const rounds: Record<string, Sample>[] = [];
  const peak: Record<Kind, number> = { world: 0, dm: 0 };
  const idle: Record<number, number> = {};
  /** Messages a second for a reading: half of the one-node peak; `wide` as many deliveries a second as `world`. */
  const rateOf = (reading: Reading) =>
    reading === 'wide' ? Math.max(1, Math.round((halfOf(peak.world) * users) / wideUsers)) : halfOf(peak[reading]);
  try {
    if (fixedPeaks) {
      Object.assign(peak, fixedPeaks);
      ctx.log(`  no peak search: PARLEY_BENCH_CLUSTER_PEAKS gives world ${peak.world}, dm ${peak.dm} msg/s`);
    } else {
      // The peaks, on one node.
      await ctx.settle('cluster peak');
      const probe = await startLayout(ctx, postgres, redis, 1);
      try {
        const clients = await connectClients(probe, users);
        for (const kind of KINDS) peak[kind] = await findPeak(ctx, probe, clients, backing, kind);
        for (const client of clients) client.socket.close();
      } finally {
        await Promise.all(probe.map((node) => node.server.stop()));
      }
    }
    // Both layouts run side by side (each on its own database) and are measured in turn, round
    // after round, the order alternating: on a shared machine whose load drifts, a 1-node and a
    // 3-node reading taken seconds apart are compared, not two taken minutes apart.
    await ctx.settle('cluster layouts');
    const layouts = new Map<number, { nodes: Node[]; clients: Client[]; wide: Client[] }>();
    /** The reference peers' layouts, by `peer-count`; they run the base readings (world, dm), not `wide`. */
    const peerLayouts = new Map<string, { nodes: Node[]; clients: Client[] }>();
    /** One round of `readings` in both layouts, the layouts' order alternating from round to round. */
    const measureRound = async (round: number, readings: readonly Reading[]): Promise<Record<string, Sample>> => {
      const results: Record<string, Sample> = {};
      for (const reading of readings) {
        const kind = reading === 'dm' ? 'dm' : 'world';
        const rate = rateOf(reading);
        for (const count of round % 2 === 0 ? [1, 3] : [3, 1]) {
          const layout = layouts.get(count)!;
          const clients = reading === 'wide' ? layout.wide : layout.clients;
          if (round === 0) await measure(layout.nodes, clients, backing, kind, rate, 1); // warm-up, not counted
          const sample = await measure(layout.nodes, clients, backing, kind, rate, seconds);
          results[`${reading}-${count}`] = sample;
          ctx.log(`  round ${round + 1}, ${count} node(s), ${reading} at ${rate} msg/s: ${sample.delivered}/${sample.expected} delivered, ${perCpu(sample).toFixed(0)} per CPU-s of nodes + Redis, load generator ${(sample.generatorCpu / sample.seconds).toFixed(2)} cores`);
        }
        if (reading === 'wide') continue;
        for (const peer of CLUSTER_PEERS) {
          for (const count of round % 2 === 0 ? [1, 3] : [3, 1]) {
            const layout = peerLayouts.get(`${peer}-${count}`)!;
            if (round === 0) await measure(layout.nodes, layout.clients, backing, kind, rate, 1, DIALECTS[peer]);
            const sample = await measure(layout.nodes, layout.clients, backing, kind, rate, seconds, DIALECTS[peer]);
            results[`${peer}:${reading}-${count}`] = sample;
            ctx.log(`  round ${round + 1}, ${peer} on ${count} process(es), ${reading} at ${rate} msg/s: ${sample.delivered}/${sample.expected} delivered, ${perCpu(sample).toFixed(0)} per CPU-s of processes + Redis`);
          }
        }
      }
      return results;
    };
    try {
      for (const count of [1, 3]) {
        const nodes = await startLayout(ctx, postgres, redis, count);
        const layout = { nodes, clients: [] as Client[], wide: [] as Client[] };
        layouts.set(count, layout);
        layout.clients = await connectClients(nodes, users);
        for (const peer of CLUSTER_PEERS) {
          const peerNodes = await startPeerLayout(ctx, redis, peer, count);
          peerLayouts.set(`${peer}-${count}`, { nodes: peerNodes, clients: [] });
          peerLayouts.get(`${peer}-${count}`)!.clients = await connectPeerClients(peerNodes, peer, users);
        }
      }
      for (const [count, { nodes }] of layouts) {
        idle[count] = await idleCores(nodes, backing);
        ctx.log(`  ${count} node(s) idle: ${idle[count]!.toFixed(3)} cores (nodes + Redis)`);
      }
      for (let round = 0; round < ctx.rounds; round++) rounds.push(await measureRound(round, ['world', 'dm']));
      // Every connected client hears the world: the wide set joins only now, after the base readings.
      for (const layout of layouts.values()) layout.wide = [...layout.clients, ...(await connectClients(layout.nodes, wideUsers, users))];
      for (let round = 0; round < ctx.rounds; round++) Object.assign(rounds[round]!, await measureRound(round, ['wide']));
      for (const { wide } of layouts.values()) for (const client of wide) client.socket.close();
    } finally {
      for (const { clients } of peerLayouts.values()) for (const client of clients) client.socket.close();
      await Promise.all([...layouts.values(), ...peerLayouts.values()].flatMap(({ nodes }) => nodes.map((node) => node.server.stop())));
    }
  } finally {
    await Promise.all([postgres.destroy(), redis.close()]);
  }
  // The table adds the rounds up (deliveries, CPU; latencies pooled); the targets take the median of the rounds' ratios.
  const results: Record<string, Sample> = {};
  for (const key of Object.keys(rounds[0] ?? {})) {
    const all = rounds.map((r) => r[key]!);
    const sum = (pick: (s: Sample) => number) => all.reduce((total, s) => total + pick(s), 0);
    results[key] = {
      sent: sum((s) => s.sent), expected: sum((s) => s.expected), delivered: sum((s) => s.delivered),
      cpu: sum((s) => s.cpu), systemCpu: sum((s) => s.systemCpu), mainCpu: sum((s) => s.mainCpu), wakeups: sum((s) => s.wakeups), redisCpu: sum((s) => s.redisCpu), postgresCpu: sum((s) => s.postgresCpu), generatorCpu: sum((s) => s.generatorCpu),
      seconds: sum((s) => s.seconds), local: all.flatMap((s) => s.local), cross: all.flatMap((s) => s.cross),
    };
  }
  const all = (s: Sample) => [...s.local, ...s.cross];
  const rows = Object.entries(results).map(([key, s]) => [
    key, `${s.sent}`, `${s.delivered}/${s.expected}`,
    (s.delivered / s.cpu).toFixed(0), perCpu(s).toFixed(0), (s.delivered / (s.cpu + s.redisCpu + s.postgresCpu)).toFixed(0),
    s.cpu.toFixed(2), s.systemCpu.toFixed(2), s.mainCpu.toFixed(2), `${s.wakeups}`, s.redisCpu.toFixed(2), s.postgresCpu.toFixed(2), (s.generatorCpu / s.seconds).toFixed(2),
  ]);
  const latencyRows = Object.entries(results).map(([key, s]) => [key, ms(s.local, 50), ms(s.local, 99), ms(s.cross, 50), ms(s.cross, 99)]);
  const targets: TargetCheck[] = [];
  const hop: string[][] = [];
  for (const kind of READINGS) {
    const one = results[`${kind}-1`];
    const three = results[`${kind}-3`];
    if (!one || !three) continue;
    const perRound = (ratioOf: (one: Sample, three: Sample) => number) => rounds.map((r) => ratioOf(r[`${kind}-1`]!, r[`${kind}-3`]!));
    const cpuRatios = perRound((a, b) => perCpu(b) / perCpu(a));
    const ratio = median(cpuRatios);
    targets.push({ target: `${kind}: deliveries per CPU-second (nodes + Redis), 3 nodes / 1 (median of rounds: ${cpuRatios.map((x) => x.toFixed(2)).join(' ')})`, goal: '≥ 0.7', value: ratio.toFixed(2), met: ratio >= 0.7, gap: ratio >= 0.7 ? '' : `needs ${(0.7 / ratio).toFixed(1)}x` });
    const latencyRatios = perRound((a, b) => (b.cross.length ? percentile(b.cross, 99) : Infinity) / percentile(all(a), 99));
    const latency = median(latencyRatios);
    targets.push({ target: `${kind}: cross-node p99 / single-node p99 at half of the one-node peak (median of rounds: ${latencyRatios.map((x) => x.toFixed(2)).join(' ')})`, goal: '≤ 2', value: latency.toFixed(2), met: latency <= 2, gap: latency <= 2 ? '' : `${latency.toFixed(1)}x` });
    const hopMs = (three.cross.length && three.local.length) ? percentile(three.cross, 50) - percentile(three.local, 50) : NaN;
    const withinP99 = three.cross.length && three.local.length ? percentile(three.cross, 99) / percentile(three.local, 99) : NaN;
    const extraCpuUs = ((three.cpu + three.redisCpu - one.cpu - one.redisCpu) / three.sent) * 1e6;
    hop.push([kind, hopMs.toFixed(2), withinP99.toFixed(2), extraCpuUs.toFixed(0), ((three.redisCpu / three.sent) * 1e6).toFixed(0)]);
  }
  // How each design's deliveries per CPU-second move from 1 process to 3: Parley's against the peers'.
  const scaling = (prefix: string, reading: Reading) =>
    rounds.filter((r) => r[`${prefix}${reading}-1`] && r[`${prefix}${reading}-3`]).map((r) => perCpu(r[`${prefix}${reading}-3`]!) / perCpu(r[`${prefix}${reading}-1`]!));
  const scalingRows: string[][] = [];
  const ratios: ScenarioReport['ratios'] = {};
  for (const reading of ['world', 'dm'] as const) {
    const parleyRounds = scaling('', reading);
    for (const [name, perRound] of [['parley', parleyRounds], ...CLUSTER_PEERS.map((peer) => [peer, scaling(`${peer}:`, reading)] as const)] as const) {
      if (perRound.length) scalingRows.push([reading, name, median(perRound).toFixed(2), perRound.map((x) => x.toFixed(2)).join(' ')]);
    }
    for (const peer of CLUSTER_PEERS) {
      const peerRounds = scaling(`${peer}:`, reading);
      if (peerRounds.length !== parleyRounds.length || !peerRounds.length) continue;
      const perRound = parleyRounds.map((x, i) => x / peerRounds[i]!);
      ratios[`${reading}: Parley's 3 ÷ 1 nodes over ${peer}'s 3 ÷ 1 processes`] = { perRound, median: median(perRound) };
    }
  }
  return {
    ...base,
    status: 'done',
    settings: { users, wideUsers, seconds, peakWorldRate: peak.world, peakDmRate: peak.dm, worldRate: rateOf('world'), dmRate: rateOf('dm'), wideRate: rateOf('wide'), idleCores: idle },
    // Latencies as percentiles: a full run delivers millions of messages, too many to keep each.
    parley: summarised(Object.fromEntries(Object.entries(results).filter(([key]) => !key.includes(':')))),
    peers: Object.fromEntries(CLUSTER_PEERS.map((peer) => [peer, summarised(Object.fromEntries(Object.entries(results).filter(([key]) => key.startsWith(`${peer}:`))))])),
    ratios,
    targets,
    rounds: rounds.map(summarised),
    notes: [
      ...(fixedPeaks ? ['the peaks were given (PARLEY_BENCH_CLUSTER_PEAKS), not searched in this run'] : []),
      'PostgreSQL, Redis, every node and the load generator share this machine; the nodes are pinned to the server core, PostgreSQL and Redis are not',
      'one node runs on PostgreSQL without Redis; three nodes add --redis; both layouts run at half of the one-node peak of each kind',
      `both layouts run side by side (own databases) and are measured in turn, ${rounds.length} rounds, order alternating; the tables add the rounds up, the targets take the median of the rounds' ratios`,
      'per CPU-s: deliveries ÷ CPU seconds of the nodes alone, of the nodes + Redis (the targets), and of the nodes + Redis + PostgreSQL',
      `wide: world messages to ${wideUsers} clients instead of ${users}, at a rate giving as many deliveries a second; measured after the other readings (every connected client hears the world)`,
      'nodes CPU is split: of it system = kernel time (socket reads and writes, wake-ups); main threads = the event loops, kernel time included; the rest is V8 and libuv helper threads (GC, compiling, hashing); wake-ups = times the nodes\' main threads blocked and were woken',
      `idle, with every client connected (heartbeats, presence, pools), nodes + Redis used ${Object.entries(idle).map(([n, c]) => `${c.toFixed(3)} cores with ${n} node(s)`).join(', ')}: counted in the figures like any other work`,
    ],
    tables: [
      { title: `at half of the one-node peak (world ${rateOf('world')} msg/s of a ${peak.world} peak to ${users} clients, DMs ${rateOf('dm')} msg/s of a ${peak.dm} peak; wide: world ${rateOf('wide')} msg/s to ${wideUsers} clients, as many deliveries); CPU in seconds, load generator in cores`,
        columns: ['layout', 'sent', 'delivered', 'per CPU-s nodes', 'nodes + Redis', 'all', 'nodes CPU', 'of it system', 'main threads', 'wake-ups', 'Redis CPU', 'PG CPU', 'generator'], rows },
      { title: 'latency from send to delivery, ms', columns: ['layout', 'same p50', 'same p99', 'cross p50', 'cross p99'], rows: latencyRows },
      { title: 'deliveries per CPU-second (processes + Redis), 3 processes ÷ 1, at the same load: Parley and the reference peers (which store nothing)',
        columns: ['kind', 'server', 'median of rounds', 'rounds'], rows: scalingRows },
      { title: 'the Redis hop (3 nodes)', columns: ['kind', 'cross − same p50 (ms)', 'cross p99 / same p99', 'extra CPU per message, nodes + Redis (µs)', 'Redis CPU per message (µs)'], rows: hop },
    ],
  };
}

/** A reading for the JSON report: its latencies as counts and percentiles instead of one number per delivery. */
function summarised(samples: Record<string, Sample>) {
  const latency = (values: number[]) => ({ count: values.length, p50: values.length ? percentile(values, 50) : null, p99: values.length ? percentile(values, 99) : null });
  return Object.fromEntries(Object.entries(samples).map(([key, { local, cross, ...rest }]) => [key, { ...rest, local: latency(local), cross: latency(cross) }]));
}

/** Cores the nodes and Redis use over 3 s with every client connected and nobody sending. */
async function idleCores(nodes: Node[], backing: Backing): Promise<number> {
  const nodesCpu = () => nodes.reduce((sum, node) => sum + cpuSeconds(node.server.pid), 0);
  const before = nodesCpu();
  const redisBefore = treeCpuSeconds(backing.redis);
  const started = performance.now();
  await sleep(3000);
  return (nodesCpu() - before + cpuSince(redisBefore, treeCpuSeconds(backing.redis))) / ((performance.now() - started) / 1000);
}

function parsePeaks(text: string | undefined): Record<Kind, number> | null {
  if (!text) return null;
  const given = Object.fromEntries(text.split(',').map((pair) => pair.split(':')).map(([kind, rate]) => [kind?.trim(), Number(rate)]));
  if (!KINDS.every((kind) => Number.isFinite(given[kind]) && given[kind] > 0)) throw new Error(`PARLEY_BENCH_CLUSTER_PEAKS: expected world:<msg/s>,dm:<msg/s>, got ${text}`);
  return { world: given.world, dm: given.dm };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const halfOf = (peak: number) => Math.max(5, Math.floor(peak / 2));
/** Deliveries per CPU-second of the nodes and Redis: what the targets read. */
const perCpu = (s: Sample) => s.delivered / (s.cpu + s.redisCpu);
