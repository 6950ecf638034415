/**
 * Work that one node of a cluster does for all, such as the file expiry sweep: a node whose turn
 * it is not skips it (files/postgres-sweep-lock.ts). On one node, it simply runs.
 */
export interface OneAtATime {
  run(work: () => Promise<void>): Promise<void>;
}

export const ALONE: OneAtATime = { run: (work) => work() };
