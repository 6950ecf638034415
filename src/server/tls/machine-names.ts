import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** Where the machine's names and addresses come from; tests pass their own. */
export interface Machine {
  interfaces(): Record<string, readonly { address: string }[] | undefined>;
  hostname(): string;
}

export const thisMachine: Machine = { interfaces: networkInterfaces, hostname };

/**
 * The names a self-signed certificate must carry so that people can reach the server by any of
 * them: loopback, the host name (and its `.local` mDNS form), `--tls-name`, and, when listening
 * on every interface, each interface's address. IPv6 link-local addresses are left out: they
 * need a zone (`%eth0`) that no certificate can name.
 */
export function machineNames(host: string, extra: readonly string[], machine: Machine = thisMachine): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  if (host === '0.0.0.0' || host === '::') {
    for (const addresses of Object.values(machine.interfaces())) {
      for (const { address } of addresses ?? []) {
        if (!/^fe80:/i.test(address)) names.add(address);
      }
    }
  } else {
    names.add(host.replace(/^\[|\]$/g, ''));
  }
  const name = machine.hostname().toLowerCase();
  if (name && isIP(name) === 0) {
    names.add(name);
    if (!name.includes('.')) names.add(`${name}.local`);
  }
  for (const name of extra) names.add(name.toLowerCase());
  return [...names];
}
