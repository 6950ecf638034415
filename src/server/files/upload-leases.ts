/** What became of a lease at its renewal. */
export type LeaseState =
  /** Still this request's. */
  | 'kept'
  /** Still this request's, but a newer request of the upload waits for it: let go. */
  | 'wanted'
  /** Another request holds it (this one stalled past its expiry): stop, keeping what arrived. */
  | 'taken'
  /** Gone: the transfer is over (cancelled, failed, expired). */
  | 'ended';

/**
 * Which request, on which node, may append to an upload: one at a time across a cluster
 * (files/postgres-upload-leases.ts). A lease expires unless its holder renews it, so a node that
 * dies lets go by itself. On one node there is none: the in-memory UploadSessions suffice.
 */
export interface UploadLeases {
  /** Takes the lease for `holder` if nobody holds a live one; otherwise asks its holder to let go, and says false. */
  take(id: string, holder: string): Promise<boolean>;
  renew(id: string, holder: string): Promise<LeaseState>;
  release(id: string, holder: string): Promise<void>;
  /** A live lease exists: some node is appending to the upload. */
  isHeld(id: string): Promise<boolean>;
  /** The transfer is over: its holder, on whichever node, stops at its next renewal. */
  end(id: string): Promise<void>;
}
