import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsSetting } from './config.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, for people to compare when their browser asks. */
  fingerprint: string;
}

/**
 * The certificate and key to serve, or null for plain HTTP. A self-signed certificate is made
 * once and kept in the data folder (key readable by the owner only), so its fingerprint stays
 * the same across restarts and people need to trust it once.
 */
export async function loadTls(setting: TlsSetting, dataDir: string, host: string): Promise<TlsMaterial | null> {
  if (setting.kind === 'none') return null;
  if (setting.kind === 'files') {
    const [cert, key] = await Promise.all([readFile(setting.certFile, 'utf8'), readFile(setting.keyFile, 'utf8')]);
    return { cert, key, fingerprint: fingerprintOf(cert) };
  }
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = [...new Set(['localhost', host])];
    // Loaded only when a certificate is made: most starts never need it.
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'Parley (self-signed)' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: names.map((name) => (/^[\d.]+$|:/.test(name) ? { type: 7, ip: name } : { type: 2, value: name })),
        },
      ],
    });
    await writeFile(keyFile, pems.private, { mode: 0o600 });
    await writeFile(certFile, pems.cert, { mode: 0o644 });
  }
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

function fingerprintOf(cert: string): string {
  return new X509Certificate(cert).fingerprint256;
}
