import type { StoreWaitHooks } from '../client/index.ts';
import { note } from './output.ts';

/**
 * What the CLI says while a step waits for the server's database (client/store-retry.ts): one
 * line on stderr when the first wait starts and one when a try gets through, however many tries
 * there were in between, so a long outage does not scroll the terminal and stdout stays the
 * command's result. `doing` completes "…; <doing> again every few seconds", `done` says what
 * went through ("signed in").
 */
export function storeWaitNotes(doing: string, done: string): StoreWaitHooks {
  let waiting = false;
  return {
    delayed(retryInMs) {
      if (waiting) return;
      waiting = true;
      note(`The server cannot reach its database; ${doing} again every few seconds until it is back (first try in ${Math.ceil(retryInMs / 1000)} s, Ctrl-C to give up).`);
    },
    flowing() {
      waiting = false;
      note(`The database is back; ${done}.`);
    },
  };
}
