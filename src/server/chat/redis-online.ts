import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PresenceChange, UserRef } from '../../protocol/index.ts';
import type { Clock } from '../clock.ts';
import type { Bus } from '../events/bus.ts';
import { EVERYONE, type EventPublisher } from '../events/events.ts';
import { PRESENCE_COALESCE_MS, type OnlineDirectory } from './online-directory.ts';
import { Presence } from './presence.ts';
import { SNAPSHOT, SWEEP, UPDATE } from './redis-presence-scripts.ts';

export interface RedisOnlineOptions {
  /** How often this node renews its users' entries, sweeps expired ones and re-reads who is online. */
  refreshMs: number;
  /** How long an entry lives without renewal: a dead node's users go offline within expiryMs + refreshMs. */
  expiryMs: number;
  prefix: string;
}

export const DEFAULT_REDIS_ONLINE: RedisOnlineOptions = { refreshMs: 5000, expiryMs: 15_000, prefix: 'parley:presence:' };

const SWEEP_LIMIT = 1000;

/**
 * Presence across nodes (the OnlineDirectory port, online-directory.ts). Each node keeps in Redis
 * one entry per user it has connections for, with an expiry it renews every `refreshMs`; a user
 * is online while one of their entries is live (redis-presence-scripts.ts). A node that dies
 * stops renewing, and the first node to sweep after the expiry announces its users offline.
 *
 * Changes travel as `presence` events on the Bus, announced by the node whose change Redis said
 * was real (one script, so never twice). Every node keeps a copy of who is online, from those
 * events, so queries answer at once; every `refreshMs` it compares the copy with Redis and tells
 * its own clients of any difference (an event lost while Redis was away, two changes that crossed).
 */
export class RedisOnline implements OnlineDirectory {
  /** This node's connections. */
  private readonly here = new Presence();
  /** Who is online on any node, as this node knows it. */
  private readonly cluster = new Presence();
  private readonly dirty = new Map<number, UserRef>();
  /** Bumped by every change of `cluster` from an event, so a comparison with Redis read meanwhile is not applied. */
  private changes = 0;
  /** Users this node shows online that Redis did not have at the last comparison. */
  private missing = new Set<number>();
  private readonly node = randomUUID();
  private cancelFlush: (() => void) | null = null;
  private readonly stopRefresh: () => void;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly redis: Redis,
    private readonly bus: Bus,
    private readonly local: EventPublisher,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, 'error'>,
    private readonly options: RedisOnlineOptions,
  ) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.type !== 'presence') return;
      this.changes += 1;
      for (const change of event.changes) this.apply(change);
    });
    this.stopRefresh = clock.every(options.refreshMs, () => this.refresh());
  }

  /**
   * Starts presence on this node: `bus` carries the changes between nodes, `local` is this node's
   * own delivery (corrections for its clients only). Reads who is online before returning.
   */
  static async start(redis: Redis, bus: Bus, local: EventPublisher, clock: Clock, log: Pick<Logger, 'error'>, options = DEFAULT_REDIS_ONLINE): Promise<RedisOnline> {
    const online = new RedisOnline(redis, bus, local, clock, log, options);
    await online.reconcile(false); // no client to tell yet
    return online;
  }

  connected(user: UserRef): void {
    // Online on this node is online: the welcome this connection gets next already counts it.
    if (!this.cluster.isOnline(user.id)) this.cluster.join(user);
    if (this.here.join(user)) this.mark(user);
  }

  disconnected(user: UserRef): void {
    if (this.here.leave(user)) this.mark(user);
  }

  isOnline(userId: number): boolean {
    return this.cluster.isOnline(userId);
  }

  users(): UserRef[] {
    return this.cluster.users();
  }

  usersJson(): string {
    return this.cluster.usersJson();
  }

  stop(): void {
    // Entries are left to expire: a node restarting within the expiry shows no one going offline.
    this.cancelFlush?.();
    this.cancelFlush = null;
    this.stopRefresh();
    this.unsubscribe();
  }

  /** Renews this node's entries, sweeps the expired ones, then compares with Redis. */
  async refresh(): Promise<void> {
    try {
      await this.update(this.here.users().map((user) => [user, true]));
      const gone = (await this.redis.eval(SWEEP, 0, this.options.prefix, this.clock.now(), SWEEP_LIMIT)) as string[];
      const changes: PresenceChange[] = [];
      for (let i = 0; i < gone.length; i += 2) {
        const user = parseUser(gone[i + 1]!) ?? { id: Number(gone[i]), name: '' };
        if (!this.here.isOnline(user.id)) changes.push({ user, online: false });
      }
      if (changes.length > 0) this.bus.publish({ type: 'presence', audience: EVERYONE, changes });
      await this.reconcile();
    } catch (error) {
      this.log.error({ err: error }, 'could not refresh presence in Redis; will try again');
    }
  }

  private mark(user: UserRef): void {
    this.dirty.set(user.id, user);
    // Real time, as in Online: the window only batches arrivals.
    if (this.cancelFlush) return;
    const timer = setTimeout(() => void this.flush(), PRESENCE_COALESCE_MS);
    timer.unref();
    this.cancelFlush = () => clearTimeout(timer);
  }

  private async flush(): Promise<void> {
    this.cancelFlush = null;
    const users = [...this.dirty.values()].map((user): [UserRef, boolean] => [user, this.here.isOnline(user.id)]);
    this.dirty.clear();
    try {
      await this.update(users);
    } catch (error) {
      // The next refresh renews who is here; whoever left expires.
      this.log.error({ err: error }, 'could not update presence in Redis');
    }
  }

  /** Puts or removes this node's entries, and announces the changes that were real cluster-wide. */
  private async update(users: [UserRef, boolean][]): Promise<void> {
    if (users.length === 0) return;
    const now = this.clock.now();
    const args = users.flatMap(([user, online]) => [user.id, JSON.stringify(user), online ? 1 : 0]);
    const changed = (await this.redis.eval(UPDATE, 0, this.options.prefix, this.node, now, now + this.options.expiryMs, ...args)) as number[];
    const byId = new Map(users.map(([user]) => [user.id, user]));
    const changes: PresenceChange[] = [];
    for (let i = 0; i < changed.length; i += 2) changes.push({ user: byId.get(Number(changed[i]))!, online: changed[i + 1] === 1 });
    if (changes.length > 0) this.bus.publish({ type: 'presence', audience: EVERYONE, changes });
  }

  /** Makes this node's copy what Redis says (plus its own users), telling its own clients of each difference. */
  private async reconcile(tell = true): Promise<void> {
    const before = this.changes;
    const json = (await this.redis.eval(SNAPSHOT, 0, this.options.prefix, this.clock.now())) as string[];
    if (this.changes !== before) return; // an event came meanwhile: compare at the next refresh
    const now = new Map<number, UserRef>();
    for (const text of json) {
      const user = parseUser(text);
      if (user) now.set(user.id, user);
    }
    for (const user of this.here.users()) now.set(user.id, user);
    const changes: PresenceChange[] = [];
    // Offline only when missing twice in a row: a Redis that restarted empty has every node's users
    // back within one refresh, and nobody should be seen leaving meanwhile. (A dead node's users
    // are taken offline by the sweep, not here.)
    const missing = new Set<number>();
    for (const user of this.cluster.users()) {
      if (now.has(user.id)) continue;
      if (this.missing.has(user.id)) changes.push({ user, online: false });
      else missing.add(user.id);
    }
    this.missing = missing;
    for (const user of now.values()) if (!this.cluster.isOnline(user.id)) changes.push({ user, online: true });
    if (changes.length === 0) return;
    for (const change of changes) this.apply(change);
    if (tell) this.local.publish({ type: 'presence', audience: EVERYONE, changes });
  }

  private apply(change: PresenceChange): void {
    if (change.online) {
      if (!this.cluster.isOnline(change.user.id)) this.cluster.join(change.user);
    } else if (!this.here.isOnline(change.user.id)) {
      // A user with a connection here is online whatever another node says (a change that crossed).
      this.cluster.leave(change.user);
    }
  }
}

function parseUser(text: string): UserRef | null {
  try {
    const user = JSON.parse(text) as UserRef;
    return typeof user?.id === 'number' && typeof user.name === 'string' ? user : null;
  } catch {
    return null;
  }
}
