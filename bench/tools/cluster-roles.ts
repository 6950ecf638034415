/**
 * Where a cluster's CPU goes, node by node: one layout (1 or 3 nodes on a private PostgreSQL,
 * with Redis for 3), `users` clients spread round-robin (user i on node i mod n), one kind of
 * traffic at one rate, and each node's CPU and event-loop wake-ups over the run. The layout of
 * the senders can be chosen, which separates what a node spends on the messages it commits from
 * what it spends on the messages it only hears. docs/PERFORMANCE.md ("Where a cluster's CPU
 * goes") quotes it. Usage:
 *   npx tsx bench/tools/cluster-roles.ts --nodes 3 --kind dm --rate 160 --users 600 [--seconds 8]
 *       [--warmup 2] [--senders spread|first-node] [--store sqlite] [--redis] [--profile DIR] [--metrics REGEX]
 * `--warmup`: seconds of the same traffic before the measured run (JIT, pools, the DMs' conversations).
 * `--senders first-node`: world messages come from users on node 0 only; DMs go from users on
 * node 0 to their neighbours on node 1, so node 2 holds no member of any of them.
 * `--store sqlite` (one node only): the single node's default store instead of PostgreSQL.
 * `--redis` (one node only): the node joins Redis as a cluster of one, which separates the bus's
 *   own cost from that of sharing a core with other nodes.
 * `--profile DIR`: each node writes a V8 CPU profile into DIR/node<i> (read with profile-top.ts).
 *   For `perf record`, which needs the nodes' flags (PARLEY_BENCH_NODE_FLAGS=--perf-basic-prof,
 *   bench/lib/servers.ts), start it when this tool prints "measuring" on stderr.
 * `--metrics REGEX`: after the run, prints each node's /metrics lines that match (hole fills, say).
 * Each node's commit batches over the run are read from its /metrics: the cost that does not
 * shrink with the rate is per batch (docs/PERFORMANCE.md, "What a commit batch costs").
 */
import { parseArgs } from 'node:util';
import { dmId, WORLD, type ConversationId } from '../../src/protocol/index.ts';
import { TestPostgres } from '../../test/support/postgres.ts';
import { startRedis } from '../../test/support/redis.ts';
import { DIALECTS } from '../load/dialects.ts';
import { cpuSeconds, cpuSince, detectPinning, mainThreadWakeups, processesMatching, sleep, treeCpuSeconds } from '../lib/processes.ts';
import { benchTempDir } from '../lib/seed.ts';
import { startServer, type ServerUnderTest } from '../lib/servers.ts';
import type { BenchUser } from '../lib/targets.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    kind: { type: 'string', default: 'dm' },
    rate: { type: 'string', default: '160' },
    users: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    senders: { type: 'string', default: 'spread' },
    profile: { type: 'string' },
    store: { type: 'string', default: 'postgres' },
    redis: { type: 'boolean', default: false },
    metrics: { type: 'string' },
  },
});
const count = Number(values.nodes);
const kind = values.kind === 'world' ? 'world' : 'dm';
const rate = Number(values.rate);
const users = Number(values.users);
const seconds = Number(values.seconds);
const firstNode = values.senders === 'first-node';
if (![1, 3].includes(count) || !(rate > 0) || users < 6 || users % 3 !== 0) throw new Error('--nodes 1|3, --rate > 0, --users a multiple of 3 (at least 6)');

/** How many commit batches a node has run so far: the count of its `parley_commit_batch_size` histogram. */
async function commitBatches(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const count = /^parley_commit_batch_size_count(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (!count) throw new Error(`/metrics of the node on port ${port} has no parley_commit_batch_size_count`);
  return Number(count[1]);
}

const [postgres, redis] = await Promise.all([TestPostgres.start(), startRedis()]);
const nodes: ServerUnderTest[] = [];
try {
  const database = await postgres.createDatabase();
  const store = values.store === 'sqlite' && count === 1 ? [] : ['--database', database];
  const flags = [...store, '--trust-proxy', '127.0.0.1', ...(count > 1 || values.redis ? ['--redis', redis.url] : [])];
  for (let i = 0; i < count; i++) nodes.push(await startServer('parley', detectPinning(), {
      dataDir: benchTempDir(`roles-${count}-${i}`),
      flags,
      ...(values.profile ? { cpuProfDir: `${values.profile}/node${i}` } : {}),
    }));
  const people: BenchUser[] = [];
  for (let i = 0; i < users; i++) {
    const reply = await fetch(`http://127.0.0.1:${nodes[0]!.port}/api/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.78.${i >> 8}.${i & 255}` },
      body: JSON.stringify({ name: `roles${i}`, password: 'bench-cluster-password-1' }),
    });
    if (!reply.ok) throw new Error(`register roles${i}: ${reply.status} ${await reply.text()}`);
    const body = (await reply.json()) as { token: string; user: { id: number; name: string } };
    people.push({ id: body.user.id, name: body.user.name, token: body.token });
  }
  const clients = await Promise.all(people.map((user, i) => DIALECTS.parley.open(nodes[i % count]!.port, user, true)));
  let delivered = 0;
  /** Every delivery's (client, conversation, seq): a second one is a duplicate, which must never happen. */
  const seen = new Set<string>();
  let duplicates = 0;
  clients.forEach((client, index) => {
    client.onFrame = (frameKind, payload) => {
      if (frameKind !== 'message') return;
      delivered++;
      const { message } = JSON.parse(payload!.toString()) as { message: { conv: string; seq: number } };
      const key = `${index} ${message.conv} ${message.seq}`;
      if (seen.has(key)) duplicates++;
      else seen.add(key);
    };
  });

  /** The n-th send: who sends it where. With 3 nodes, user i sits on node i mod 3. */
  const nth = (n: number): { from: number; conv: ConversationId } => {
    if (kind === 'world') return { from: firstNode ? (n % 4) * count : n % 4, conv: WORLD };
    const from = firstNode ? (3 * n) % users : n % users;
    return { from, conv: dmId(people[from]!.id, people[(from + 1) % users]!.id) };
  };
  const run = async (runSeconds: number) => {
    const started = performance.now();
    const total = Math.round(rate * runSeconds);
    for (let sent = 0; sent < total; await sleep(5)) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const { from, conv } = nth(sent);
        clients[from]!.sendText(DIALECTS.parley.encodeSend(conv, `r${sent}-${Date.now()}`, 'where does the time go'));
      }
    }
  };
  await run(Number(values.warmup)); // warm-up: JIT, pools, the DMs' conversations created
  await sleep(1000);
  const redisPids = processesMatching(`redis-server 127.0.0.1:${redis.port}`);
  const cpuBefore = nodes.map((node) => cpuSeconds(node.pid));
  const wakeupsBefore = nodes.map((node) => mainThreadWakeups(node.pid));
  const redisBefore = treeCpuSeconds(redisPids);
  const batchesBefore = await Promise.all(nodes.map((node) => commitBatches(node.port)));
  delivered = 0;
  console.error('measuring'); // for a profiler started from outside (perf record) to catch the run alone
  await run(seconds);
  const expected = Math.round(rate * seconds) * (kind === 'world' ? users : 2);
  for (const deadline = performance.now() + 10_000; delivered < expected && performance.now() < deadline; ) await sleep(20);
  const cpu = nodes.map((node, i) => cpuSeconds(node.pid) - cpuBefore[i]!);
  const redisCpu = cpuSince(redisBefore, treeCpuSeconds(redisPids));
  const batches = (await Promise.all(nodes.map((node) => commitBatches(node.port)))).map((after, i) => after - batchesBefore[i]!);
  const messages = Math.round(rate * seconds);
  console.log(JSON.stringify({
    nodes: count, kind, rate, users, seconds, senders: firstNode ? 'first-node' : 'spread', delivered, expected, duplicates,
    cpuSeconds: cpu.map((c) => +c.toFixed(2)), redisCpuSeconds: +redisCpu.toFixed(2),
    commitBatches: batches,
    wakeups: nodes.map((node, i) => mainThreadWakeups(node.pid) - wakeupsBefore[i]!),
    perMessageUs: { nodes: cpu.map((c) => Math.round((c / messages) * 1e6)), all: Math.round(((cpu.reduce((a, b) => a + b, 0) + redisCpu) / messages) * 1e6) },
  }));
  if (values.metrics) {
    const wanted = new RegExp(values.metrics);
    for (const [i, node] of nodes.entries()) {
      const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
      console.log(`node ${i}:\n${text.split('\n').filter((line) => !line.startsWith('#') && wanted.test(line)).join('\n')}`);
    }
  }
  for (const client of clients) client.close();
} finally {
  await Promise.all(nodes.map((node) => node.stop()));
  await Promise.all([postgres.destroy(), redis.close()]);
}
