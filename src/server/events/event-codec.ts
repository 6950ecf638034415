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

/** The version of the envelope, so a node of another version drops what it cannot read rather than misreading it. */
const VERSION = 1;

export function encodeEvent(node: string, event: DomainEvent): string {
  return JSON.stringify({ v: VERSION, node, event });
}

/** The envelope, or null when `text` is not one this version reads. */
export function decodeEvent(text: string): Envelope | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { v, node, event } = parsed as { v?: unknown; node?: unknown; event?: unknown };
  if (v !== VERSION || typeof node !== 'string' || typeof event !== 'object' || event === null) return null;
  if (typeof (event as { type?: unknown }).type !== 'string') return null;
  return { node, event: event as DomainEvent };
}
