import type { Clock } from '../clock.ts';
import { selfSigned, type TlsMaterial } from './load-tls.ts';
import { machineNames, type Machine } from './machine-names.ts';

/** How often the machine's addresses are looked at again (a laptop moves between networks). */
export const ADDRESS_CHECK_MS = 60_000;

/**
 * Keeps a self-signed certificate true to the machine while the server runs: when an address or
 * the host name appears that the certificate lacks, it is made again and `use` installs it (new
 * connections get it; open ones keep theirs).
 */
export function renewSelfSigned(options: {
  dataDir: string;
  host: string;
  extraNames: readonly string[];
  machine: Machine;
  clock: Clock;
  use: (material: TlsMaterial) => void;
  onError: (error: unknown) => void;
}): () => void {
  let running = false;
  return options.clock.every(ADDRESS_CHECK_MS, async () => {
    if (running) return;
    running = true;
    try {
      const names = machineNames(options.host, options.extraNames, options.machine);
      // Validity dates are read by peers against their own clocks: the real time, not the server's clock.
      const { material, renewed } = await selfSigned(options.dataDir, names);
      if (renewed) options.use(material);
    } catch (error) {
      options.onError(error);
    } finally {
      running = false;
    }
  });
}
