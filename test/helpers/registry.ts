import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto, randomBytes } from 'node:crypto';
import { freePort, waitFor } from './cluster.js';

// A real OCI registry (Debian's docker-registry, distribution 2.8) on a free loopback port with temp storage,
// optionally behind htpasswd Basic auth or a Bearer token server (ES256 JWTs, run inside the test process).

export interface TestRegistry {
  /** "127.0.0.1:PORT". */
  host: string;
  /** The registry's storage directory (tests may corrupt blobs under docker/registry/v2/blobs). */
  storageDir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'basic' | 'bearer';
  username?: string;
  password?: string;
}

/** bcrypt through the C library's crypt(3) (libxcrypt), via perl, which Debian always has; htpasswd may be absent. */
function bcrypt(password: string): string {
  const salt = randomBytes(16).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(22, 'a').slice(0, 22);
  return execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`], { encoding: 'utf8' });
}

const b64url = (b: Buffer | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('base64url');

/** A token server as distribution's token auth expects: Basic credentials in, an ES256 JWT with an x5c chain out. */
async function startTokenServer(port: number, dir: string, username: string, password: string): Promise<Server> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=kite-test-token-issuer',
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
  });
  writeFileSync(join(dir, 'token.crt'), cert.toString('pem'));
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      const access = (url.searchParams.getAll('scope') ?? []).flatMap((s) => {
        const [type, name, actions] = s.split(':');
        return type && name ? [{ type, name, actions: (actions ?? '').split(',').filter(Boolean) }] : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: 'ES256', typ: 'JWT', x5c: [Buffer.from(cert.rawData).toString('base64')] };
      const claims = { iss: 'kite-test-issuer', sub: username, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
      const input = `${b64url(Buffer.from(JSON.stringify(header)))}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
      const sig = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, Buffer.from(input));
      const token = `${input}.${b64url(sig)}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-registry-'));
  const port = await freePort();
  const username = opts.username ?? 'kite';
  const password = opts.password ?? 'secret';
  let tokenServer: Server | undefined;
  let auth = '';
  if (opts.auth === 'basic') {
    writeFileSync(join(dir, 'htpasswd'), `${username}:${bcrypt(password)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: kite-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (opts.auth === 'bearer') {
    const tokenPort = await freePort();
    tokenServer = await startTokenServer(tokenPort, dir, username, password);
    auth = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: kite-test-registry\n    issuer: kite-test-issuer\n    rootcertbundle: ${join(dir, 'token.crt')}\n`;
  }
  const storageDir = join(dir, 'data');
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString('hex')}\n${auth}`,
  );
  let output = '';
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
    }
    await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
    tokenServer?.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `docker-registry on 127.0.0.1:${port}`,
      async () => {
        if (exited) throw new Error(`docker-registry exited:\n${output}`);
        const res = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
        return res !== undefined && (res.status === 200 || res.status === 401);
      },
      15_000,
      50,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { host: `127.0.0.1:${port}`, storageDir, stop };
}
