import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A certificate chain and its private key, in PEM. */
export interface CertificatePair {
  cert: string;
  key: string;
}

/**
 * Where `--tls acme` keeps what must outlive an order: the account key, the certificate, and the
 * challenges open while the CA checks them. One node keeps them in its data folder
 * (FileAcmeStore); a cluster keeps them in PostgreSQL (postgres-acme-store.ts), because the CA
 * checks a challenge through whichever node the name leads to, not necessarily the one that
 * ordered, and every node must serve the same certificate without ordering its own.
 */
export interface AcmeStore {
  /** Other processes open challenges this one must answer: the challenge port asks the store for tokens it does not know. */
  readonly shared: boolean;
  /** The account key for `directoryUrl`: the kept one, or `fresh()` kept by the first to ask. */
  accountKey(directoryUrl: string, fresh: () => Promise<string>): Promise<string>;
  /**
   * The certificate kept under `name` (the first domain) from the CA at `directoryUrl`, or null: one
   * from another CA (Let's Encrypt's staging CA before its production one) is not this one's.
   */
  certificate(directoryUrl: string, name: string): Promise<CertificatePair | null>;
  saveCertificate(directoryUrl: string, name: string, pair: CertificatePair): Promise<void>;
  openChallenge(token: string, keyAuthorization: string): Promise<void>;
  /** The key authorization of an open challenge, or null. */
  challenge(token: string): Promise<string | null>;
  closeChallenge(token: string): Promise<void>;
  /**
   * Runs `order` while no other node runs one: a cluster orders a certificate once, not once per
   * node. Throws, naming the other node, if its order has not finished in a bound
   * (postgres-acme-store.ts).
   */
  exclusively<T>(order: () => Promise<T>): Promise<T>;
}

/**
 * One node's ACME state in `<data>/acme/` (and so in its backups): `account.key`, and
 * `<domain>.crt` with `<domain>.key` and `<domain>.directory` (the CA that issued it), keys
 * readable by the owner only. A pair kept without the CA's name (by an earlier version) is taken
 * for the CA configured now. Challenges live in memory: this process is the only one that answers
 * them.
 */
export class FileAcmeStore implements AcmeStore {
  readonly shared = false;
  private readonly challenges = new Map<string, string>();

  constructor(private readonly dir: string) {}

  async accountKey(_directoryUrl: string, fresh: () => Promise<string>): Promise<string> {
    const file = join(this.dir, 'account.key');
    if (!existsSync(file)) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(file, await fresh(), { mode: 0o600 });
    }
    return readFile(file, 'utf8');
  }

  async certificate(directoryUrl: string, name: string): Promise<CertificatePair | null> {
    const [certFile, keyFile, directoryFile] = this.files(name);
    if (!existsSync(certFile) || !existsSync(keyFile)) return null;
    if (existsSync(directoryFile) && (await readFile(directoryFile, 'utf8')) !== directoryUrl) return null;
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key };
  }

  async saveCertificate(directoryUrl: string, name: string, pair: CertificatePair): Promise<void> {
    const [certFile, keyFile, directoryFile] = this.files(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: a restart in the middle never finds half a pair.
    await writeFile(`${keyFile}.new`, pair.key, { mode: 0o600 });
    await writeFile(`${certFile}.new`, pair.cert, { mode: 0o644 });
    await writeFile(`${directoryFile}.new`, directoryUrl, { mode: 0o644 });
    await rename(`${keyFile}.new`, keyFile);
    await rename(`${certFile}.new`, certFile);
    await rename(`${directoryFile}.new`, directoryFile);
  }

  async openChallenge(token: string, keyAuthorization: string): Promise<void> {
    this.challenges.set(token, keyAuthorization);
  }

  async challenge(token: string): Promise<string | null> {
    return this.challenges.get(token) ?? null;
  }

  async closeChallenge(token: string): Promise<void> {
    this.challenges.delete(token);
  }

  exclusively<T>(order: () => Promise<T>): Promise<T> {
    return order();
  }

  private files(name: string): [cert: string, key: string, directory: string] {
    return [join(this.dir, `${name}.crt`), join(this.dir, `${name}.key`), join(this.dir, `${name}.directory`)];
  }
}
