import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { TlsSetting } from '../config.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, for people to compare when their browser asks. */
  fingerprint: string;
}

/** A self-signed certificate is made again this long before it expires. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const LIFETIME_MS = 825 * 24 * 3600 * 1000;

/**
 * The certificate and key to serve, or null for plain HTTP. A self-signed certificate is kept in
 * the data folder (key readable by the owner only) and made again only when it lacks one of
 * `names` or nears its end, so its fingerprint stays the same across restarts and people trust
 * it once per set of addresses.
 */
export async function loadTls(setting: TlsSetting, dataDir: string, names: readonly string[], now = Date.now()): Promise<TlsMaterial | null> {
  if (setting.kind === 'none') return null;
  if (setting.kind === 'acme') throw new Error('an ACME certificate comes from AcmeCertificates (tls/acme.ts)');
  if (setting.kind === 'files') {
    const [cert, key] = await Promise.all([readFile(setting.certFile, 'utf8'), readFile(setting.keyFile, 'utf8')]);
    return { cert, key, fingerprint: fingerprintOf(cert) };
  }
  return (await selfSigned(dataDir, names, now)).material;
}

/** The kept self-signed certificate, made anew when it does not cover `names`; `renewed` says whether it was. */
export async function selfSigned(dataDir: string, names: readonly string[], now = Date.now()): Promise<{ material: TlsMaterial; renewed: boolean }> {
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    if (covers(cert, names, now)) return { material: { cert, key, fingerprint: fingerprintOf(cert) }, renewed: false };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Loaded only when a certificate is made: its X.509 libraries cost ~7 MB of memory for good.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'Parley (self-signed)' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + LIFETIME_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
    ],
  });
  // Written aside and renamed: a reader (a client taking the file for NODE_EXTRA_CA_CERTS) never sees half a file.
  await writeFile(`${keyFile}.new`, pems.private, { mode: 0o600 });
  await writeFile(`${certFile}.new`, pems.cert, { mode: 0o644 });
  await rename(`${keyFile}.new`, keyFile);
  await rename(`${certFile}.new`, certFile);
  return { material: { cert: pems.cert, key: pems.private, fingerprint: fingerprintOf(pems.cert) }, renewed: true };
}

/** Whether the certificate names every one of `names` and is not about to expire. */
export function covers(cert: string, names: readonly string[], now = Date.now()): boolean {
  const x509 = new X509Certificate(cert);
  if (Date.parse(x509.validTo) - now < RENEW_BEFORE_MS) return false;
  return names.every((name) => (isIP(name) ? x509.checkIP(name) !== undefined : x509.checkHost(name, { wildcards: false }) !== undefined));
}

function fingerprintOf(cert: string): string {
  return new X509Certificate(cert).fingerprint256;
}
