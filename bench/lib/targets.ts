/** The servers a scenario can drive: Parley and the reference peers under bench/peers/. */
export const TARGETS = ['parley', 'ws-naive', 'ws-ceiling', 'socketio'] as const;
export type Target = (typeof TARGETS)[number];
export const PEERS = ['ws-naive', 'ws-ceiling', 'socketio'] as const satisfies readonly Target[];

/** A user the load generator plays: Parley users are seeded with a session token; peers take the id on trust. */
export interface BenchUser {
  id: number;
  name: string;
  token: string;
}
