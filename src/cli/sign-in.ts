import { ParleyApi, ParleyClientError, untilStored } from '../client/index.ts';
import type { UserRef } from '../protocol/index.ts';
import { requireUser, type Context } from './command.ts';
import { note } from './output.ts';
import { obtainPassword } from './password.ts';
import { storeWaitNotes } from './store-wait.ts';

export interface SignedIn {
  api: ParleyApi;
  me: UserRef;
}

/**
 * An API client with a token the server accepts: the cached one if it still works, else a
 * fresh login (which needs the password) whose token replaces it in the cache. While the server
 * cannot reach its database (STORE_UNAVAILABLE) either step waits for it, as a send does: a
 * command started during a short outage then does its work instead of failing at the door.
 */
export async function signIn(context: Context): Promise<SignedIn> {
  const name = requireUser(context);
  const cached = await context.cache.get(context.server, name);
  if (cached) {
    const api = new ParleyApi(context.server, { token: cached.token });
    // One cheap round trip proves the token before anything else runs, so no later step (a
    // send, a WebSocket handshake) has to recover from a 401 halfway through.
    const me = await untilStored(() => currentUser(api), storeWaitNotes('signing in', 'signed in'));
    if (me) return { api, me };
    if (!context.env.PARLEY_PASSWORD) note(`The saved session of ${name} on ${context.server} has ended; log in again.`);
  }
  return logIn(context, name);
}

export async function logIn(context: Context, name: string, api = new ParleyApi(context.server)): Promise<SignedIn> {
  await answers(api);
  const password = await obtainPassword(context.env, `Password for ${name} on ${context.server}: `);
  // A device token from an earlier login lets this computer in even while strangers guess at the account.
  api.deviceToken ??= (await context.cache.get(context.server, name))?.deviceToken ?? null;
  // A refused try stored nothing and counts as no failed login (the server looks the name up first).
  const { user, token } = await untilStored(() => api.login({ name, password }), storeWaitNotes('signing in', 'signed in'));
  await context.cache.put(context.server, name, user, token, api.deviceToken);
  return { api, me: user };
}

/** The token's user, or null when the server no longer accepts the token. */
export async function currentUser(api: ParleyApi): Promise<UserRef | null> {
  try {
    return (await api.me()).user;
  } catch (error) {
    if (error instanceof ParleyClientError && error.code === 'UNAUTHENTICATED') return null;
    throw error;
  }
}

/**
 * Fails with NETWORK when the server does not answer: asked before a password, so that a server
 * that is down is reported as such, not as a missing password.
 */
export async function answers(api: ParleyApi): Promise<void> {
  try {
    await api.json('GET', '/healthz');
  } catch (error) {
    if (error instanceof ParleyClientError && error.code === 'NETWORK') throw error;
    // Any answer at all (even an error status) means the server is there.
  }
}
