import { webcrypto, randomBytes, generateKeyPairSync, X509Certificate as NodeX509 } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces, hostname } from 'node:os';
import type * as X509 from '@peculiar/x509';
import { ALG, altName, keyPair, loadX509, privateKeyPem, serialNumber, validity, type CryptoKey } from '../tls/certs.js';

// The cluster's PKI, made once on first start in <data-dir>/server/tls (k3s keeps it in the same place):
// a CA, a serving certificate for every local address, and an admin client certificate (O=system:masters)
// for the kubeconfig, and the key that signs service-account tokens. Later starts reuse what exists, so
// kubeconfigs and issued tokens keep working across restarts.

export interface Pki {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** Bearer token accepted as cluster admin. */
  token: string;
  /** ECDSA P-256 private key (PKCS#8 PEM) that signs service-account tokens (ES256). */
  serviceAccountKeyPem: string;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, true, ['sign']);
}

function localAddresses(): string[] {
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) ips.add(a.address);
  return [...ips];
}

async function issue(
  ca: { cert: X509.X509Certificate; key: CryptoKey },
  subject: string,
  usage: 'server' | 'client',
  sans: X509.JsonGeneralName[] = [],
): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = await keyPair();
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: ca.cert.subject,
    ...validity(),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** Load the PKI from `dir`, creating whatever is missing. `token` overrides the stored admin token. */
export async function ensurePki(dir: string, opts: { token?: string; extraSans?: string[] } = {}): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  const write = (f: string, data: string) => writeFileSync(p(f), data, { mode: 0o600 });

  const sanNames = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', hostname(), ...localAddresses(), ...(opts.extraSans ?? [])];
  const wanted = [...new Set(sanNames)];
  const complete =
    ['ca.crt', 'ca.key', 'serving.crt', 'serving.key', 'admin.crt', 'admin.key'].every((f) => existsSync(p(f))) && servingCoversAll(readFileSync(p('serving.crt'), 'utf8'), wanted);
  if (!complete) await issueMissing(dir, wanted);
  if (opts.token) write('token', opts.token + '\n');
  else if (!existsSync(p('token'))) write('token', randomBytes(24).toString('hex') + '\n');
  if (!existsSync(p(SERVICE_ACCOUNT_KEY))) write(SERVICE_ACCOUNT_KEY, serviceAccountKey());

  return {
    caCertPem: readFileSync(p('ca.crt'), 'utf8'),
    serverCertPem: readFileSync(p('serving.crt'), 'utf8'),
    serverKeyPem: readFileSync(p('serving.key'), 'utf8'),
    adminCertPem: readFileSync(p('admin.crt'), 'utf8'),
    adminKeyPem: readFileSync(p('admin.key'), 'utf8'),
    token: readFileSync(p('token'), 'utf8').trim(),
    serviceAccountKeyPem: readFileSync(p(SERVICE_ACCOUNT_KEY), 'utf8'),
  };
}

const SERVICE_ACCOUNT_KEY = 'service-account.key';

/** A fresh token-signing key. Replacing it invalidates every token issued before (pods get new ones). */
function serviceAccountKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function issueMissing(dir: string, wanted: string[]): Promise<void> {
  const x509 = await loadX509();
  const p = (f: string) => join(dir, f);
  const write = (f: string, data: string) => writeFileSync(p(f), data, { mode: 0o600 });
  if (!existsSync(p('ca.crt')) || !existsSync(p('ca.key'))) {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `CN=kite-ca@${Math.floor(Date.now() / 1000)}`,
      ...validity(),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    write('ca.key', await privateKeyPem(keys.privateKey));
    write('ca.crt', cert.toString('pem') + '\n');
  }
  const caCertPem = readFileSync(p('ca.crt'), 'utf8');
  const ca = { cert: new x509.X509Certificate(caCertPem), key: await importPrivateKey(readFileSync(p('ca.key'), 'utf8')) };

  if (!existsSync(p('serving.crt')) || !servingCoversAll(readFileSync(p('serving.crt'), 'utf8'), wanted)) {
    const s = await issue(ca, 'CN=kube-apiserver', 'server', wanted.map(altName));
    write('serving.key', s.keyPem);
    write('serving.crt', s.certPem);
  }
  if (!existsSync(p('admin.crt'))) {
    const a = await issue(ca, 'CN=system:admin, O=system:masters', 'client');
    write('admin.key', a.keyPem);
    write('admin.crt', a.certPem);
  }
}

function servingCoversAll(pem: string, names: string[]): boolean {
  const alt = new NodeX509(pem).subjectAltName ?? '';
  return names.every((n) => alt.includes(n.includes(':') || /^[0-9.]+$/.test(n) ? n : `DNS:${n}`));
}

/** A kubeconfig that authenticates as cluster admin with the client certificate. */
export function adminKubeconfig(pki: Pki, server: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(pki.caCertPem)}`,
    `    server: ${server}`,
    '  name: default',
    'contexts:',
    '- context:',
    '    cluster: default',
    '    user: default',
    '  name: default',
    'current-context: default',
    'preferences: {}',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCertPem)}`,
    `    client-key-data: ${b64(pki.adminKeyPem)}`,
    '',
  ].join('\n');
}
