/**
 * Bounded memory while streaming gigabytes (Node only): shared by the server's transfers and the
 * Node client's file transfer, so it belongs to neither.
 *
 * Every socket or file read allocates a fresh buffer outside the JS heap, and it is freed only
 * when a garbage collection finds its (tiny) JS object dead. V8 schedules collections by JS
 * heap growth, which streaming hardly causes, so tens of megabytes of dead buffers pile up
 * between collections: +40 MB of peak RSS for one transfer here, against a 150 MB budget.
 * A young-generation collection every few megabytes frees them for well under a millisecond
 * each. `gc` is reached by enabling --expose-gc at run time (the flag only adds the function);
 * where that is not possible this does nothing and memory is merely higher.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  } catch {
    gc = null;
  }
  return gc;
}

const EVERY_BYTES = 4 * 1024 * 1024;

/** Returns a counter to call with each chunk's size; it collects young garbage every 4 MiB. */
export function scavenger(): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < EVERY_BYTES) return;
    since = 0;
    collector()?.({ type: 'minor' });
  };
}
