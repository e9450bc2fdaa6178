import { randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

// The certificate making every role needs (the cluster CA and its certificates, the agent's streaming
// endpoint, the ingress controller's default certificate): ECDSA P-256 keys, ten-year validity, PEM out.
// A leaf module, below the roles, so none of them has to import another for it.

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type X509Library = typeof X509;

export const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

// The X.509 library is loaded only when a certificate must be made: most starts reuse what exists.
let x509: X509Library | undefined;
export async function loadX509(): Promise<X509Library> {
  if (!x509) {
    const lib: X509Library = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    x509 = lib;
  }
  return x509;
}

export async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(k: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** A positive 128-bit serial number (the top bit clear keeps its DER integer positive). */
export function serialNumber(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString('hex');
}

/** A subjectAltName entry: IP addresses as IPs, anything else as a DNS name. */
export function altName(name: string): X509.JsonGeneralName {
  return /^[0-9.]+$|:/.test(name) ? { type: 'ip', value: name } : { type: 'dns', value: name };
}

/** Validity that starts a minute ago (clocks differ a little) and lasts ten years. */
export function validity(): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + TEN_YEARS_MS) };
}

/** A self-signed serving certificate (not a CA) for `names`, with its new key. */
export async function selfSignedServing(subject: string, names: string[], keyUsage?: number): Promise<{ certPem: string; keyPem: string }> {
  const lib = await loadX509();
  const keys = await keyPair();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: subject,
    ...validity(),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      ...(keyUsage !== undefined ? [new lib.KeyUsagesExtension(keyUsage, true)] : []),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension(names.map(altName)),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}
