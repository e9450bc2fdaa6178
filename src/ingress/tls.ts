import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { KubeObject } from '../api/object.js';
import type { TlsCertificate } from './model.js';
import { loadX509, selfSignedServing } from '../tls/certs.js';

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
  const { KeyUsageFlags } = await loadX509();
  const made = await selfSignedServing(DEFAULT_SUBJECT, ['ingress.local'], KeyUsageFlags.digitalSignature);
  writeFileSync(path, `${made.certPem}${made.keyPem}`, { mode: 0o600 });
}
