/**
 * `--tls acme`: a certificate from an ACME certificate authority (Let's Encrypt by default),
 * obtained at start and renewed while the server runs, with the HTTP-01 challenge answered on
 * its own plain-HTTP port (80 by default). The account key and the certificate are kept in an
 * AcmeStore (acme-store.ts): the data folder on one node, so a restart reuses them instead of
 * asking the CA again; PostgreSQL in a cluster, so that the nodes order one certificate, serve
 * it all, and each answers the challenges any of them opened. docs/DEPLOYMENT.md, "TLS",
 * explains the flags.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { AcmeSetting } from '../config.ts';
import type { AcmeStore, CertificatePair } from './acme-store.ts';
import type { TlsMaterial } from './load-tls.ts';

/** Renew when less than this is left (Let's Encrypt's certificates last 90 days; it advises 30). */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** How often the certificate's remaining life is looked at (and, in a cluster, whether another node renewed it). */
export const RENEWAL_CHECK_MS = 12 * 3600 * 1000;
const CHALLENGE_PATH = '/.well-known/acme-challenge/';
/** What an ACME token looks like (base64url, RFC 8555 §8.1 asks for at least 128 bits): anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{22,128}$/;
/**
 * Challenge requests for tokens this node did not open, looked up in a shared store at once: the
 * challenge port is open to anyone, and each lookup is a database query. Beyond it, such a request
 * is answered 503 (the CA tries again).
 */
const MAX_SHARED_LOOKUPS = 4;

export class AcmeCertificates {
  /** token → key authorization, for the challenges this node opened. */
  private readonly challenges = new Map<string, string>();
  private challengeServer: Server | null = null;
  private lookups = 0;

  constructor(
    private readonly setting: AcmeSetting,
    private readonly store: AcmeStore,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** What the certificate is kept under: its first domain. */
  private get name(): string {
    return this.setting.domains[0]!;
  }

  /**
   * Answers HTTP-01 challenges on `httpPort` and sends every other request to the HTTPS address
   * (a browser that types the bare name lands on the right page).
   */
  async listen(host: string, httpsPort: () => number): Promise<void> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]!;
      if (path.startsWith(CHALLENGE_PATH)) {
        void this.answer(path.slice(CHALLENGE_PATH.length)).then(
          (answer) => {
            if (answer === 'busy') response.writeHead(503, { 'retry-after': '1' }).end();
            else if (answer !== null) response.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
            else response.writeHead(404, { 'content-type': 'text/plain' }).end('No such challenge.');
          },
          () => response.writeHead(503, { 'retry-after': '1' }).end(),
        );
        return;
      }
      const name = (request.headers.host ?? this.name).replace(/:\d+$/, '');
      const target = this.setting.domains.includes(name) ? name : this.name;
      const port = httpsPort();
      response.writeHead(308, { location: `https://${target}${port === 443 ? '' : `:${port}`}${request.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.setting.httpPort, host, () => resolve());
    });
    this.challengeServer = server;
  }

  /** The kept certificate while it covers the domains and is not due; otherwise a new one, ordered by one node at a time. */
  async current(): Promise<TlsMaterial> {
    const kept = await this.kept();
    if (kept && !this.isDue(kept.cert)) return kept;
    return this.store.exclusively(async () => {
      // Another node may have ordered one while this one waited for its turn.
      const again = await this.kept();
      if (again && !this.isDue(again.cert)) return again;
      return this.obtain();
    });
  }

  /**
   * Checks every RENEWAL_CHECK_MS and hands a renewed certificate to `use`: one this node ordered,
   * or, in a cluster, one another node ordered and kept (`inUse` is the fingerprint served now).
   * The returned function stops it.
   */
  startRenewal(use: (material: TlsMaterial) => void, inUse: () => string | null): () => void {
    let running = false;
    return this.clock.every(RENEWAL_CHECK_MS, async () => {
      if (running) return;
      running = true;
      try {
        const material = await this.current();
        if (material.fingerprint !== inUse()) use(material);
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

  /** The key authorization for `token`: this node's own challenge, or (in a cluster) one another node opened; 'busy' when too many lookups wait. */
  private async answer(token: string): Promise<string | 'busy' | null> {
    const own = this.challenges.get(token);
    if (own !== undefined) return own;
    if (!this.store.shared || !TOKEN.test(token)) return null;
    if (this.lookups >= MAX_SHARED_LOOKUPS) return 'busy';
    this.lookups++;
    try {
      return await this.store.challenge(token);
    } finally {
      this.lookups--;
    }
  }

  private isDue(cert: string): boolean {
    const x509 = new X509Certificate(cert);
    const covers = this.setting.domains.every((domain) => x509.checkHost(domain, { wildcards: false }) !== undefined);
    return !covers || Date.parse(x509.validTo) - this.clock.now() < RENEW_BEFORE_MS;
  }

  /** The kept certificate, or null when there is none or it cannot be served (then a new one is ordered). */
  private async kept(): Promise<TlsMaterial | null> {
    const pair = await this.store.certificate(this.setting.directoryUrl, this.name);
    if (!pair) return null;
    try {
      const kept = material(pair);
      // A key that does not match the certificate, or is not a key, fails here rather than when served.
      createSecureContext({ cert: kept.cert, key: kept.key });
      return kept;
    } catch (error) {
      this.log.warn({ err: error }, `ACME: the kept certificate for ${this.name} cannot be used (${(error as Error).message}); ordering a new one`);
      return null;
    }
  }

  private async obtain(): Promise<TlsMaterial> {
    // Loaded only here: most servers never use ACME, and the client brings its own dependencies.
    const acme = (await import('acme-client')).default;
    if (this.setting.caFile) {
      // A private CA (or Pebble in the tests) serves its directory with a certificate of its own.
      const ca = await readFile(this.setting.caFile, 'utf8');
      acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ca] });
    }
    const accountKey = await this.store.accountKey(this.setting.directoryUrl, async () => (await acme.crypto.createPrivateEcdsaKey()).toString());
    const client = new acme.Client({ directoryUrl: this.setting.directoryUrl, accountKey });
    const [key, csr] = await acme.crypto.createCsr({ commonName: this.name, altNames: this.setting.domains });
    this.log.info({ domains: this.setting.domains, directory: this.setting.directoryUrl }, `ACME: asking for a certificate for ${this.setting.domains.join(', ')}`);
    const cert = await client.auto({
      csr,
      email: this.setting.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The CA checks from outside; a check from here would only test this machine's own DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        this.challenges.set(challenge.token, keyAuthorization);
        await this.store.openChallenge(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.delete(challenge.token);
        await this.store.closeChallenge(challenge.token);
      },
    });
    const issued = material({ cert, key: key.toString() });
    await this.store.saveCertificate(this.setting.directoryUrl, this.name, issued);
    this.log.info({ fingerprint: issued.fingerprint, validTo: new X509Certificate(cert).validTo }, 'ACME: certificate issued');
    return issued;
  }
}

function material(pair: CertificatePair): TlsMaterial {
  return { cert: pair.cert, key: pair.key, fingerprint: new X509Certificate(pair.cert).fingerprint256 };
}
