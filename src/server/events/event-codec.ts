import type { DomainEvent } from './events.ts';

/**
 * How domain events travel between nodes: JSON, with the id of the node that published them
 * (so a node skips its own events, which it delivered on the publisher's turn). A node sends the
 * events of one turn (a commit batch's messages, say) as one envelope: one Redis publish and one
 * parse on every other node per batch, not per event. Every field of every DomainEvent is plain
 * JSON (numbers, strings, booleans, arrays, objects: no Set, Map, Buffer, Date or bigint), so it
 * round-trips unchanged; event-codec.test.ts checks every kind. An optional field that is absent
 * stays absent (JSON drops `undefined`).
 */
export interface Envelope {
  node: string;
  /** In the order they were published. */
  events: DomainEvent[];
  /**
   * Set on an envelope sent to a user's channel (redis-bus.ts, "routed"): the publisher's turn
   * and each event's place in it. An event meant for several users travels once per user, so a
   * node holding two of them receives it twice and delivers it once, by (node, turn, place).
   */
  routed?: RoutedPlaces;
}

export interface RoutedPlaces {
  turn: number;
  places: number[];
}

/**
 * Not a domain event but a word about the bus itself: `node` could not publish some events
 * committed since `since` (the cluster's time, ms: RedisCluster.time), among them state changes from `rev` on (null: none),
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
const VERSION = 2;
/**
 * The version before, whose envelope carried one event; read during a rolling upgrade, when
 * nodes of both versions share the channel. Its resync notice is the same as this version's.
 */
const SINGLE = 1;

/** Starts every envelope and notice of `node`: a node skips its own coming back without parsing them. */
export function envelopePrefix(node: string): string {
  return `{"v":${VERSION},"node":${JSON.stringify(node)}`;
}

export function encodeEvents(node: string, events: readonly DomainEvent[], routed?: RoutedPlaces): string {
  return JSON.stringify(routed ? { v: VERSION, node, events, turn: routed.turn, places: routed.places } : { v: VERSION, node, events });
}

export function encodeResync(node: string, gap: BusGap): string {
  return JSON.stringify({ v: VERSION, node, resync: gap });
}

/** The envelope or notice, or null when `text` is not one this version reads. */
export function decodeEvents(text: string): Envelope | ResyncNotice | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { v, node, event, events, resync, turn, places } = parsed as {
    v?: unknown;
    node?: unknown;
    event?: unknown;
    events?: unknown;
    resync?: unknown;
    turn?: unknown;
    places?: unknown;
  };
  if ((v !== VERSION && v !== SINGLE) || typeof node !== 'string') return null;
  if (typeof resync === 'object' && resync !== null) {
    const { since, rev } = resync as { since?: unknown; rev?: unknown };
    if (typeof since !== 'number' || !Number.isFinite(since) || !(rev === null || Number.isSafeInteger(rev))) return null;
    return { node, resync: { since, rev: rev as number | null } };
  }
  const list = v === VERSION ? events : [event];
  if (!Array.isArray(list) || !list.every(isEvent)) return null;
  if (turn === undefined && places === undefined) return { node, events: list };
  if (!Number.isSafeInteger(turn) || !Array.isArray(places) || places.length !== list.length || !places.every(Number.isSafeInteger)) return null;
  return { node, events: list, routed: { turn: turn as number, places: places as number[] } };
}

function isEvent(value: unknown): value is DomainEvent {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
