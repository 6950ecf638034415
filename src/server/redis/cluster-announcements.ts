import type { Redis } from 'ioredis';
import type { ClusterAnnouncement } from '../storage/postgres/node-registry.ts';

/**
 * Which Parley clusters use this Redis server: field = a cluster's id (one per PostgreSQL
 * database, node-registry.ts), value = `<ms> <pid> <host>`: when one of its nodes last said so,
 * on Redis's own clock (TIME), and which node. Channel and key names are the same for every
 * cluster, and Redis database numbers do not separate pub/sub channels, so two clusters on one
 * Redis would hear each other's events and share presence and limits: each node announces its
 * cluster at every heartbeat and looks for another.
 *
 * Always in database 0, whatever database the URL selects (redis://host/2): keys are kept per
 * database, channels are not, so two clusters on two database numbers of one server must find
 * each other's announcements. A script's SELECT does not change the connection's database.
 */
export const CLUSTERS_KEY = 'parley:clusters';

/**
 * Atomic, so that of two clusters' first nodes starting at once the second sees the first.
 * Reads Redis's clock (so the machines' clocks need not agree), forgets announcements older than
 * ARGV[3] ms, and returns the other clusters' fresh ones as (id, value, age ms) triples. Announces
 * ARGV[1] (value ARGV[2]) unless ARGV[4] is '1' and another cluster is fresh: a node that is
 * refused leaves no trace for the running cluster to see. The key expires when nobody announces.
 */
const ANNOUNCE = `
if redis.replicate_commands then redis.replicate_commands() end
redis.call('SELECT', 0)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local fresh = tonumber(ARGV[3])
local entries = redis.call('HGETALL', KEYS[1])
local others = {}
for i = 1, #entries, 2 do
  local at = tonumber(string.match(entries[i + 1], '^(%d+) '))
  if at == nil or now - at > fresh then
    redis.call('HDEL', KEYS[1], entries[i])
  elseif entries[i] ~= ARGV[1] then
    table.insert(others, entries[i])
    table.insert(others, entries[i + 1])
    table.insert(others, string.format('%d', math.max(0, now - at)))
  end
end
if ARGV[4] ~= '1' or #others == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. ' ' .. ARGV[2])
  redis.call('PEXPIRE', KEYS[1], fresh)
end
return others
`;

/**
 * Announces `clusterId` (unless `onlyIfAlone` and another cluster is fresh) and returns the other
 * clusters announced within `freshMs`. Throws while Redis cannot be asked.
 */
export async function announceCluster(
  redis: Redis,
  clusterId: string,
  node: { host: string; pid: number },
  freshMs: number,
  onlyIfAlone: boolean,
): Promise<ClusterAnnouncement[]> {
  const flat = (await redis.eval(ANNOUNCE, 1, CLUSTERS_KEY, clusterId, `${node.pid} ${node.host}`, String(freshMs), onlyIfAlone ? '1' : '0')) as string[];
  const others: ClusterAnnouncement[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const [, pid = '0', host = '?'] = /^\d+ (\d+) (.*)$/s.exec(flat[i + 1]!) ?? [];
    others.push({ clusterId: flat[i]!, host, pid: Number(pid), ageMs: Number(flat[i + 2]) });
  }
  return others;
}

/** Forgets `clusterId`'s announcement: its last node stopped, so another cluster may use this Redis at once. */
export async function withdrawCluster(redis: Redis, clusterId: string): Promise<void> {
  await redis.eval(`redis.call('SELECT', 0) return redis.call('HDEL', KEYS[1], ARGV[1])`, 1, CLUSTERS_KEY, clusterId);
}

/**
 * The Redis server's `run_id` (INFO server): a random id Redis makes at each start. Nodes compare
 * it to tell whether they are connected to one server. Chosen over a marker key the nodes would
 * agree on because it needs no writes and nothing can evict, flush or overwrite it; it changes
 * when Redis restarts, so each node records it afresh at every heartbeat (node-registry.ts).
 * null when it cannot be asked now (Redis away, or INFO denied by an ACL: then the check is off).
 */
export async function redisServerId(redis: Redis): Promise<string | null> {
  try {
    return /^run_id:([0-9a-f]+)\s*$/m.exec(await redis.info('server'))?.[1] ?? null;
  } catch {
    return null;
  }
}
