import type { Store } from '../storage/store.ts';
import type { ServerEvents } from './server-events.ts';

/**
 * The store with its commits timed and counted for the metrics, and everything else untouched:
 * the chat domain commits through the port as before and knows nothing of metrics.
 */
export function meteredStore<S extends Store>(store: S, events: Pick<ServerEvents, 'committed'>): S {
  const commit: Store['commit'] = async (batch) => {
    const started = process.hrtime.bigint();
    const results = await store.commit(batch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    events.committed(results.filter((result) => result.ok && !result.duplicate).length, seconds);
    return results;
  };
  return new Proxy(store, {
    get: (target, property) => (property === 'commit' ? commit : Reflect.get(target, property, target)),
  });
}
