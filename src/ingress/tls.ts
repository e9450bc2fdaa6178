import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type * as X509 from '@peculiar/x509';
import type { KubeObject } from '../api/object.js';
import type { TlsCertificate } from './model.js';

// Certificates nginx presents: the user's `kubernetes.io/tls` Secrets, checked before nginx sees them (a
// Secret whose key does not match its certificate would otherwise fail the whole reload), and a
// self-signed default certificate for unknown SNI names and TLS sections without a usable Secret.

const TLS_SECRET = 'kubernetes.io/tls';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Turn a Secret into what nginx loads, or say why it cannot be used. */
export function certificateFromSecret(secret: KubeObject | undefined, key: string): TlsCertificate | { error: string } {
  if (!secret) return { error: `secret ${key} not found` };
  const type = (secret as { type?: string }).type;
  if (type !== TLS_SECRET) return { error: `secret ${key} is of type ${type ?? 'Opaque'}, not ${TLS_SECRET}` };
  const data = ((secret as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
  const crt = Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8');
  const keyPem = Buffer.from(data['tls.key'] ?? '', 'base64').toString('utf8');
  const chain = crt.match(PEM_CERT) ?? [];
  if (chain.length === 0) return { error: `secret ${key} has no PEM certificate in tls.crt` };
  try {
    const leaf = new X509Certificate(chain[0]!);
    const privateKey = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(privateKey)) return { error: `secret ${key}: tls.key does not match the first certificate in tls.crt (order the chain leaf first)` };
  } catch (e) {
    return { error: `secret ${key} holds an unreadable certificate or key (${(e as Error).message})` };
  }
  const pem = `${chain.join('\n')}\n${keyPem.trim()}\n`;
  const hash = createHash('sha256').update(pem).digest('hex').slice(0, 12);
  return { id: `${key.replace('/', '_')}-${hash}`, pem };
}

const DEFAULT_SUBJECT = 'CN=Kite Ingress Controller Default Certificate, O=kite';
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function usable(pem: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.checkPrivateKey(createPrivateKey(pem)) && Date.parse(cert.validTo) > Date.now() + 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

/** The default certificate at `path` (chain then key, mode 0600), made on first use and kept across restarts. */
export async function ensureDefaultCertificate(path: string): Promise<void> {
  if (existsSync(path) && usable(readFileSync(path, 'utf8'))) return;
  const x509: typeof X509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: DEFAULT_SUBJECT,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + TEN_YEARS_MS),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'ingress.local' }]),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  writeFileSync(path, `${cert.toString('pem')}\n${keyPem}`, { mode: 0o600 });
}
