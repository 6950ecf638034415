import { ParleyClientError, untilStored, type ParleyApi } from '../client/index.ts';
import { WORLD, dmId, type ConversationId, type UserRef } from '../protocol/index.ts';
import type { Context } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { findRoom } from './room-lookup.ts';
import { storeWaitNotes } from './store-wait.ts';

export interface Target {
  conv: ConversationId;
  /** `world`, `@name` or `#room`, for people to read. */
  label: string;
}

/** The value of --to or --with, checked before anything asks for a password or the network. */
export function targetOption(context: Context, option: 'to' | 'with'): string {
  const value = context.values[option];
  if (typeof value !== 'string' || value === '' || value === '@') {
    throw new UsageError(`say which conversation: --${option} world, --${option} <user> or --${option} '#<room>'`, context.command);
  }
  return value;
}

/**
 * `world` is the world chat; `#name` (or `#room:<id>`) one of your rooms (a user name never
 * starts with "#"); anything else names a user, whose DM id both sides derive from the two user
 * ids. `@name` always means a user, for someone who registered as "world". Waits while the
 * server cannot reach its database (the lookups only read).
 */
export function resolveTarget(api: ParleyApi, me: UserRef, target: string): Promise<Target> {
  return untilStored(() => lookUpTarget(api, me, target), storeWaitNotes(`looking up ${target}`, `found ${target}`));
}

async function lookUpTarget(api: ParleyApi, me: UserRef, target: string): Promise<Target> {
  if (target === WORLD) return { conv: WORLD, label: WORLD };
  if (target.startsWith('#')) {
    const room = await findRoom(api, target);
    return { conv: room.id, label: `#${room.name}` };
  }
  const name = target.startsWith('@') ? target.slice(1) : target;
  let peer: UserRef;
  try {
    peer = await api.user(name);
  } catch (error) {
    if (error instanceof ParleyClientError && error.code === 'NOT_FOUND') {
      throw new ParleyClientError('NOT_FOUND', `No user is called "${name}".`, error.status);
    }
    throw error;
  }
  if (peer.id === me.id) throw new CliError(`"${name}" is you; there is no conversation with yourself.`);
  return { conv: dmId(me.id, peer.id), label: `@${peer.name}` };
}
