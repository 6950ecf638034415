import type { DomainEvent } from './events.ts';

/**
 * How a domain event travels between nodes: JSON, with the id of the node that published it
 * (so a node skips its own events, which it delivered on the publisher's turn). Every field of
 * every DomainEvent is plain JSON (numbers, strings, booleans, arrays, objects: no Set, Map,
 * Buffer, Date or bigint), so it round-trips unchanged; event-codec.test.ts checks every kind.
 * An optional field that is absent stays absent (JSON drops `undefined`).
 */
export interface Envelope {
  node: string;
  event: DomainEvent;
}

/**
 * Not a domain event but a word about the bus itself: `node` could not publish some events
 * committed since `since` (its clock, ms), among them state changes from `rev` on (null: none),
 * so every other node should read from storage what it may have missed.
 */
export interface ResyncNotice {
  node: string;
  resync: BusGap;
}

/** Events committed from `since` (ms) on may have been lost, and state changes from `rev` on (null: none, or not known). */
export interface BusGap {
  since: number;
  rev: number | null;
}

/** The version of the envelope, so a node of another version drops what it cannot read rather than misreading it. */
const VERSION = 1;

export function encodeEvent(node: string, event: DomainEvent): string {
  return JSON.stringify({ v: VERSION, node, event });
}

export function encodeResync(node: string, gap: BusGap): string {
  return JSON.stringify({ v: VERSION, node, resync: gap });
}

/** The envelope or notice, or null when `text` is not one this version reads. */
export function decodeEvent(text: string): Envelope | ResyncNotice | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { v, node, event, resync } = parsed as { v?: unknown; node?: unknown; event?: unknown; resync?: unknown };
  if (v !== VERSION || typeof node !== 'string') return null;
  if (typeof resync === 'object' && resync !== null) {
    const { since, rev } = resync as { since?: unknown; rev?: unknown };
    if (typeof since !== 'number' || !Number.isFinite(since) || !(rev === null || Number.isSafeInteger(rev))) return null;
    return { node, resync: { since, rev: rev as number | null } };
  }
  if (typeof event !== 'object' || event === null) return null;
  if (typeof (event as { type?: unknown }).type !== 'string') return null;
  return { node, event: event as DomainEvent };
}
