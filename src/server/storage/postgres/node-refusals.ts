import type { ClusterAnnouncement, NodeRow } from './node-registry.ts';

// The one line a node that cannot join says before it exits (NodeRegistry.join, MixedNodesError): what is wrong and what to change.

function who(other: NodeRow): string {
  return `another Parley node (${other.host}, pid ${other.pid}, last heard ${Math.round(other.age_ms / 1000)} s ago)`;
}

export function refusal(clustered: boolean, other: NodeRow): string {
  if (clustered) {
    return `${who(other)} runs on this PostgreSQL database without --redis: stop it, or give it the same --redis as this one, before starting a cluster node.`;
  }
  return other.clustered
    ? `${who(other)} runs on this PostgreSQL database with --redis: give this node the same --redis (PARLEY_REDIS_URL); without it, its clients would not see the other nodes' messages.`
    : `${who(other)} runs on this PostgreSQL database without --redis: two nodes need --redis (PARLEY_REDIS_URL) to share one database; stop the other node or give both the same --redis.`;
}

export function otherRedisRefusal(other: NodeRow): string {
  return (
    `${who(other)} runs on this PostgreSQL database connected to another Redis server than this node: the nodes would not hear each other's events. ` +
    `Give every node the same --redis (PARLEY_REDIS_URL).`
  );
}

export function sharedRedisRefusal(other: ClusterAnnouncement): string {
  return (
    `this Redis server is used by another Parley cluster, on another PostgreSQL database (its node on ${other.host}, pid ${other.pid}, ` +
    `announced it ${Math.round(other.ageMs / 1000)} s ago): the clusters would receive each other's events and share presence and limits. ` +
    `Give each cluster its own Redis server; Redis database numbers (redis://…/2) do not separate its channels.`
  );
}
