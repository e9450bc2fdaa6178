import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedServing } from '../tls/certs.js';

// The streaming endpoint's serving certificate: self-signed and kept in <data-dir>/pki, as a kubelet
// without --tls-cert-file makes one. The API server authenticates to it with the cluster token.

export async function servingCertificate(dir: string, names: string[]): Promise<{ keyPem: string; certPem: string }> {
  const certFile = join(dir, 'kubelet.crt');
  const keyFile = join(dir, 'kubelet.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made = await selfSignedServing(`CN=${names[0] ?? 'kite-agent'}@${Math.floor(Date.now() / 1000)}`, names);
  writeFileSync(keyFile, made.keyPem, { mode: 0o600 });
  writeFileSync(certFile, made.certPem, { mode: 0o644 });
  return made;
}
