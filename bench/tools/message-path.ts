/**
 * CPU per message on the server's message path without the sockets, in one process:
 * Chat.send -> group commit into a real SQLite file (durability full) -> publish -> bus ->
 * OrderedDelivery -> Hub.route -> recipients that only count. Closed loop (`batch` sends per turn,
 * awaited), so it measures CPU time, not a rate a busy machine could not keep: the check of
 * docs/PERFORMANCE.md, "The event core", for comparing two trees on a shared machine. Usage:
 *   npx tsx bench/tools/message-path.ts <dm|world> <clients> <messages> [batch=32]
 * To compare trees, run it from each checkout in turn, alternating, several rounds.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { UserRef } from '../../src/protocol/index.ts';
import { Chat } from '../../src/server/chat/chat.ts';
import { MessageReplay } from '../../src/server/chat/replay.ts';
import { SendRate } from '../../src/server/chat/send-rate.ts';
import type { OnlineDirectory } from '../../src/server/chat/online-directory.ts';
import { systemClock } from '../../src/server/clock.ts';
import { InProcessBus } from '../../src/server/events/in-process-bus.ts';
import { OrderedDelivery } from '../../src/server/events/ordered-delivery.ts';
import { Hub, type Recipient } from '../../src/server/gateway/hub.ts';
import { SqliteStore } from '../../src/server/storage/sqlite/sqlite-store.ts';
import { PLACEHOLDER_HASH } from '../scenarios/chat.ts';
import { DB_FILE, benchTempDir, seedDataDir } from '../lib/seed.ts';

const [mode = 'dm', clientsArg = '1000', messagesArg = '30000', batchArg = '32'] = process.argv.slice(2);
if (mode !== 'dm' && mode !== 'world') throw new Error('mode is dm or world');
const clients = Number(clientsArg);
const messages = Number(messagesArg);
const batch = Number(batchArg);

const seeded = seedDataDir(benchTempDir('message-path'), { users: clients, passwordHash: PLACEHOLDER_HASH });
const store = new SqliteStore(join(seeded.dir, DB_FILE), 'full');
const silent = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent };
const nobody: OnlineDirectory = { connected() {}, disconnected() {}, isOnline: () => true, users: () => [], usersJson: () => '[]', stop() {} };
const hub = new Hub(silent as never, nobody);
let delivered = 0;
const users: UserRef[] = seeded.users.map((u) => ({ id: u.id, name: u.name }));
for (const user of users) {
  const recipient: Recipient = { user, sessionKey: `s${user.id}`, speaksRooms: true, deliver: () => void delivered++, deliverEvent() {}, close() {} };
  hub.add(recipient);
  hub.join(recipient);
}
const bus = new InProcessBus(silent);
const delivery = new OrderedDelivery(new MessageReplay(store), (event) => hub.route(event), systemClock, silent);
bus.subscribe(delivery.accept);
const chat = new Chat(store, bus, systemClock, new SendRate({ perSecond: 1e9, burst: 1e9 }, systemClock));

const pairs = clients >> 1;
let clientId = 0;
function send(i: number) {
  if (mode === 'world') return chat.send(users[i % clients]!, 'world', `c${clientId++}`, `${i} ${'x'.repeat(60)}`);
  const p = i % pairs;
  const [a, b] = [users[2 * p]!, users[2 * p + 1]!];
  const sender = i % (2 * pairs) < pairs ? a : b;
  return chat.send(sender, `dm:${Math.min(a.id, b.id)}:${Math.max(a.id, b.id)}`, `c${clientId++}`, `${i} ${'x'.repeat(60)}`);
}
async function run(count: number) {
  for (let i = 0; i < count; i += batch) await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => send(i + j)));
}

await run(Math.max(2000, Math.min(messages, 20_000))); // warm-up: the JIT, and every DM created
const deliveredBefore = delivered;
const cpu = process.cpuUsage();
await run(messages);
const used = process.cpuUsage(cpu);
const seconds = (used.user + used.system) / 1e6;
console.log(
  JSON.stringify({
    mode,
    clients,
    messages,
    batch,
    deliveries: delivered - deliveredBefore,
    cpuSeconds: +seconds.toFixed(3),
    systemSeconds: +(used.system / 1e6).toFixed(3),
    microsecondsPerMessage: +((seconds * 1e6) / messages).toFixed(2),
    deliveriesPerCpuSecond: Math.round((delivered - deliveredBefore) / seconds),
  }),
);
delivery.stop();
await store.close();
rmSync(seeded.dir, { recursive: true, force: true });
