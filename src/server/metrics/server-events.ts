/**
 * What the domain and the edges report for operators to count, and nothing more: each part gets
 * this small interface (or the one method it needs), never the metrics library, so a part that
 * is refactored keeps one call to move. metrics.ts turns these into Prometheus metrics.
 */
export interface ServerEvents {
  /** A batch of messages was committed in one transaction. */
  committed(messages: number, seconds: number): void;
  /** A connection was closed because its send queue overflowed (close code 4008). */
  slowClientCut(): void;
  /** A login was refused: a wrong name or password, or the failed-login limit. */
  loginFailed(reason: 'wrong_credentials' | 'locked_out'): void;
  /** File bytes stored from an upload, and sent in a download. */
  fileBytesIn(bytes: number): void;
  fileBytesOut(bytes: number): void;
  /** An HTTP request was answered. */
  httpResponse(method: string, route: string, status: number, seconds: number): void;
  /** Cluster: envelopes of this node's events that Redis took (one per turn, or per routed user). */
  busPublished(envelopes: number): void;
  /** Cluster: a turn's events could not be published (Redis away); the other nodes read them from storage later. */
  busPublishFailed(): void;
  /** Cluster: events of other nodes that reached this node through Redis. */
  busReceived(events: number): void;
  /** Cluster: this node read storage for what the bus may have lost, and why (see BusReadBackCause). */
  busReadBack(cause: BusReadBackCause): void;
  /** A message that came after a missing one waited, and the missing ones were read from storage. */
  holeFilled(): void;
}

/**
 * Why a node reads back: its own link to Redis came back (`reconnected`), another node said it
 * could not publish (`notice`), Redis confirmed a user's subscription late (`late_subscription`).
 */
export type BusReadBackCause = 'reconnected' | 'notice' | 'late_subscription';

/** For tests and tools that start parts without metrics. */
export const NO_EVENTS: ServerEvents = {
  committed() {},
  slowClientCut() {},
  loginFailed() {},
  fileBytesIn() {},
  fileBytesOut() {},
  httpResponse() {},
  busPublished() {},
  busPublishFailed() {},
  busReceived() {},
  busReadBack() {},
  holeFilled() {},
};
