/**
 * Loaded with `--import` into every server under test (Parley and the peers alike) so the
 * runner can ask for memory figures from inside the process: heap numbers exist only there,
 * and a forced GC first makes "memory per connection" a measure of what is retained, not of
 * garbage waiting to be collected. The server's own code is untouched.
 */
import { serveRpc } from './rpc.ts';

const gc = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  serveRpc({
    memory: () => {
      if (gc) {
        gc();
        gc();
      }
      const usage = process.memoryUsage();
      return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers };
    },
  });
}
