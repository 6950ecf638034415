/**
 * `--tls acme`: a certificate from an ACME certificate authority (Let's Encrypt by default),
 * obtained at start and renewed while the server runs, with the HTTP-01 challenge answered on
 * its own plain-HTTP port (80 by default). The account key and the certificate are kept in
 * `<data>/acme/` (keys readable by the owner only), so a restart reuses them instead of asking
 * the CA again. docs/DEPLOYMENT.md, "TLS", explains the flags.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { AcmeSetting } from '../config.ts';
import type { TlsMaterial } from './load-tls.ts';

/** Renew when less than this is left (Let's Encrypt's certificates last 90 days; it advises 30). */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** How often the certificate's remaining life is looked at. */
export const RENEWAL_CHECK_MS = 12 * 3600 * 1000;
const CHALLENGE_PATH = '/.well-known/acme-challenge/';

export class AcmeCertificates {
  /** token → key authorization, while a challenge is open. */
  private readonly challenges = new Map<string, string>();
  private readonly dir: string;
  private challengeServer: Server | null = null;

  constructor(
    private readonly setting: AcmeSetting,
    dataDir: string,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.dir = join(dataDir, 'acme');
  }

  private get certFile() {
    return join(this.dir, `${this.setting.domains[0]}.crt`);
  }

  private get keyFile() {
    return join(this.dir, `${this.setting.domains[0]}.key`);
  }

  /**
   * Answers HTTP-01 challenges on `httpPort` and sends every other request to the HTTPS address
   * (a browser that types the bare name lands on the right page).
   */
  async listen(host: string, httpsPort: () => number): Promise<void> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]!;
      const answer = path.startsWith(CHALLENGE_PATH) ? this.challenges.get(path.slice(CHALLENGE_PATH.length)) : undefined;
      if (answer !== undefined) {
        response.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
        return;
      }
      const name = (request.headers.host ?? this.setting.domains[0]!).replace(/:\d+$/, '');
      const target = this.setting.domains.includes(name) ? name : this.setting.domains[0]!;
      const port = httpsPort();
      response.writeHead(308, { location: `https://${target}${port === 443 ? '' : `:${port}`}${request.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.setting.httpPort, host, () => resolve());
    });
    this.challengeServer = server;
  }

  /** The kept certificate while it covers the domains and is not due; otherwise a new one. */
  async current(): Promise<TlsMaterial> {
    const kept = await this.kept();
    if (kept && !this.isDue(kept.cert)) return kept;
    return this.obtain();
  }

  /** Checks every RENEWAL_CHECK_MS and hands a renewed certificate to `use`; the returned function stops it. */
  startRenewal(use: (material: TlsMaterial) => void): () => void {
    let running = false;
    return this.clock.every(RENEWAL_CHECK_MS, async () => {
      if (running) return;
      running = true;
      try {
        const kept = await this.kept();
        if (!kept || this.isDue(kept.cert)) use(await this.obtain());
      } catch (error) {
        // The certificate in use keeps working until it expires: try again at the next check.
        this.log.error({ err: error }, 'ACME: renewing the certificate failed; trying again later');
      } finally {
        running = false;
      }
    });
  }

  async close(): Promise<void> {
    const server = this.challengeServer;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private isDue(cert: string): boolean {
    const x509 = new X509Certificate(cert);
    const covers = this.setting.domains.every((domain) => x509.checkHost(domain, { wildcards: false }) !== undefined);
    return !covers || Date.parse(x509.validTo) - this.clock.now() < RENEW_BEFORE_MS;
  }

  private async kept(): Promise<TlsMaterial | null> {
    if (!existsSync(this.certFile) || !existsSync(this.keyFile)) return null;
    const [cert, key] = await Promise.all([readFile(this.certFile, 'utf8'), readFile(this.keyFile, 'utf8')]);
    return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256 };
  }

  private async obtain(): Promise<TlsMaterial> {
    // Loaded only here: most servers never use ACME, and the client brings its own dependencies.
    const acme = (await import('acme-client')).default;
    if (this.setting.caFile) {
      // A private CA (or Pebble in the tests) serves its directory with a certificate of its own.
      const ca = await readFile(this.setting.caFile, 'utf8');
      acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ca] });
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const accountKeyFile = join(this.dir, 'account.key');
    if (!existsSync(accountKeyFile)) await writeFile(accountKeyFile, await acme.crypto.createPrivateEcdsaKey(), { mode: 0o600 });
    const client = new acme.Client({ directoryUrl: this.setting.directoryUrl, accountKey: await readFile(accountKeyFile) });
    const [key, csr] = await acme.crypto.createCsr({ commonName: this.setting.domains[0]!, altNames: this.setting.domains });
    this.log.info({ domains: this.setting.domains, directory: this.setting.directoryUrl }, `ACME: asking for a certificate for ${this.setting.domains.join(', ')}`);
    const cert = await client.auto({
      csr,
      email: this.setting.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The CA checks from outside; a check from here would only test this machine's own DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => void this.challenges.set(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => void this.challenges.delete(challenge.token),
    });
    // Written aside and renamed: a restart in the middle never finds half a pair.
    await writeFile(`${this.keyFile}.new`, key, { mode: 0o600 });
    await writeFile(`${this.certFile}.new`, cert, { mode: 0o644 });
    await rename(`${this.keyFile}.new`, this.keyFile);
    await rename(`${this.certFile}.new`, this.certFile);
    const material = { cert, key: key.toString(), fingerprint: new X509Certificate(cert).fingerprint256 };
    this.log.info({ fingerprint: material.fingerprint, validTo: new X509Certificate(cert).validTo }, 'ACME: certificate issued');
    return material;
  }
}
