import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, rmSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, webcrypto } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { startCluster, waitFor, freePort, type Cluster } from '../helpers/cluster.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import type { KubeObject } from '../../src/api/object.js';
import { startIngressController, type IngressController } from '../../src/ingress/controller.js';
import { DataPlane } from '../../src/ingress/dataplane.js';

// The ingress controller against a real API server, with nginx as the data plane and backends that are
// HTTP servers in this process on 127.0.0.2–127.0.0.5. Their Services have no selector, and the test writes
// their EndpointSlices itself (kite, like Kubernetes, accepts loopback addresses in EndpointSlices). Every
// assertion is made with a real HTTP(S) or WebSocket client through nginx.

const isRoot = process.getuid?.() === 0;
const NS = 'default';
const services = resource('', 'v1', 'services');
const slices = resource('discovery.k8s.io', 'v1', 'endpointslices');
const secrets = resource('', 'v1', 'secrets');
const ingresses = resource('networking.k8s.io', 'v1', 'ingresses');
const ingressClasses = resource('networking.k8s.io', 'v1', 'ingressclasses');

interface Backend {
  name: string;
  ip: string;
  port: number;
  server: Server;
  /** Requests to /slow wait until this is called. */
  release(): void;
  /** How many /slow requests are waiting. */
  waiting(): number;
}

interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  certSubject?: string;
}

let c: Cluster | undefined;
let client: RestClient | undefined;
let ctl: IngressController | undefined;
let dataDir: string | undefined;
let httpPort = 0;
let httpsPort = 0;
const backends = new Map<string, Backend>();
const logs: string[] = [];

async function startBackend(name: string, ip: string, port: number): Promise<Backend> {
  let waiting: Array<() => void> = [];
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (d: Buffer) => (size += d.length));
    req.on('end', () => {
      const echo = JSON.stringify({
        name,
        path: req.url,
        bodyBytes: size,
        host: req.headers.host,
        xff: req.headers['x-forwarded-for'],
        proto: req.headers['x-forwarded-proto'],
        fhost: req.headers['x-forwarded-host'],
        fport: req.headers['x-forwarded-port'],
        realIp: req.headers['x-real-ip'],
      });
      if (req.url === '/slow') {
        // Headers and a first chunk now, the rest when the test says so: a request in flight across a reload.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        waiting.push(() => res.end(`last;${name}`));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(echo);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m: Buffer) => ws.send(`${name}:${m.toString()}`)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  return {
    name,
    ip,
    port,
    server,
    release() {
      for (const w of waiting) w();
      waiting = [];
    },
    waiting: () => waiting.length,
  };
}

/** A selector-less Service on port 80 and an EndpointSlice naming `eps` (ready unless marked otherwise). */
async function backendService(name: string, eps: Array<{ backend: string; ready?: boolean }>): Promise<void> {
  const port = backends.get(eps[0]!.backend)!.port;
  await client!.create(services, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80, targetPort: port }] } });
  await client!.create(slices, NS, sliceFor(name, port, eps));
}

function sliceFor(name: string, port: number, eps: Array<{ backend: string; ready?: boolean }>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-manual`, namespace: NS, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'ingress-test' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [backends.get(e.backend)!.ip], conditions: { ready: e.ready ?? true } })),
  };
}

function rule(host: string | undefined, paths: Array<{ path: string; type: string; svc: string }>): Record<string, unknown> {
  return {
    ...(host ? { host } : {}),
    http: { paths: paths.map((p) => ({ path: p.path, pathType: p.type, backend: { service: { name: p.svc, port: { number: 80 } } } })) },
  };
}

async function createIngress(name: string, spec: Record<string, unknown>): Promise<void> {
  await client!.create(ingresses, NS, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name }, spec });
}

function fetchVia(opts: { host: string; path?: string; https?: boolean; servername?: string; ca?: string; method?: string; body?: Buffer; agent?: import('node:http').Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host: opts.host }, timeout: 10_000 };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const cert = opts.https ? (res.socket as TLSSocket).getPeerCertificate?.() : undefined;
        const cn = cert?.subject?.CN;
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, certSubject: Array.isArray(cn) ? cn.join(",") : cn });
      });
      res.on('error', reject);
    };
    const req = opts.https
      ? httpsRequest({ ...common, port: httpsPort, servername: opts.servername ?? opts.host, ca: opts.ca, rejectUnauthorized: !!opts.ca, agent: false }, onResponse)
      : httpRequest({ ...common, port: httpPort, agent: opts.agent ?? false }, onResponse);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Which backend answered (or the status when nginx answered itself). */
async function who(host: string, path = '/'): Promise<string> {
  const r = await fetchVia({ host, path });
  if (r.status !== 200) return String(r.status);
  return (JSON.parse(r.body) as { name: string }).name;
}

async function eventually(host: string, path: string, want: string): Promise<void> {
  await waitFor(`${host}${path} to be answered by ${want}`, async () => (await who(host, path)) === want, 20_000, 100);
}

async function selfSignedWildcard(): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: 'CN=*.example.com',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 24 * 3600 * 1000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: '*.example.com' }])],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certPem: cert.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n` };
}

let wildcard: { certPem: string; keyPem: string } | undefined;

before(async () => {
  if (!isRoot) return;
  // All backends listen on one port, as the pods of one Service would, so that one slice can name several.
  const port = await freePort();
  for (const [name, ip] of [['alpha', '127.0.0.2'], ['beta', '127.0.0.3'], ['gamma', '127.0.0.4'], ['delta', '127.0.0.5']] as const) backends.set(name, await startBackend(name, ip, port));
  c = await startCluster();
  client = new RestClient(configFromKubeconfig(c.kubeconfig, 'kite-ingress-test'));
  dataDir = mkdtempSync(join(tmpdir(), 'kite-ingress-'));
  httpPort = await freePort();
  httpsPort = await freePort();
  wildcard = await selfSignedWildcard();

  await backendService('svc-alpha', [{ backend: 'alpha' }]);
  await backendService('svc-beta', [{ backend: 'beta' }]);
  await backendService('svc-gamma', [{ backend: 'gamma' }]);
  await backendService('svc-both', [{ backend: 'alpha' }, { backend: 'beta' }]);
  await client.create(services, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc-empty' }, spec: { ports: [{ name: 'http', port: 80 }] } });
  await client.create(secrets, NS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'wild-tls' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(wildcard.certPem).toString('base64'), 'tls.key': Buffer.from(wildcard.keyPem).toString('base64') },
  });

  // Routing by host; the class is left unset here (kite is the default class).
  await createIngress('hosts', { rules: [rule('a.test', [{ path: '/', type: 'Prefix', svc: 'svc-alpha' }]), rule('b.test', [{ path: '/', type: 'Prefix', svc: 'svc-beta' }])] });
  await createIngress('paths', {
    ingressClassName: 'kite',
    rules: [
      rule('paths.test', [
        { path: '/foo', type: 'Prefix', svc: 'svc-alpha' },
        { path: '/foo', type: 'Exact', svc: 'svc-beta' },
        { path: '/foo/bar/', type: 'Prefix', svc: 'svc-gamma' },
        { path: '/impl', type: 'ImplementationSpecific', svc: 'svc-gamma' },
        { path: '/empty', type: 'Prefix', svc: 'svc-empty' },
        { path: '/both', type: 'Prefix', svc: 'svc-both' },
      ]),
    ],
  });
  await createIngress('catch-all', { ingressClassName: 'kite', defaultBackend: { service: { name: 'svc-gamma', port: { number: 80 } } } });
  await createIngress('secure', {
    ingressClassName: 'kite',
    tls: [{ hosts: ['*.example.com'], secretName: 'wild-tls' }],
    rules: [rule('*.example.com', [{ path: '/', type: 'Prefix', svc: 'svc-alpha' }])],
  });
  await createIngress('not-ours', { ingressClassName: 'someone-else', rules: [rule('other.test', [{ path: '/', type: 'Prefix', svc: 'svc-alpha' }])] });

  ctl = await startIngressController({ client, dataDir, nodeName: 'ingress-node', nodeIPs: ['127.0.0.1'], httpPort, httpsPort, bindAddress: '127.0.0.1', minSyncIntervalMs: 100, log: (m) => logs.push(m) });
  await ctl.ready();
});

after(async () => {
  if (process.env.KITE_INGRESS_TEST_LOG) (await import('node:fs')).writeFileSync(process.env.KITE_INGRESS_TEST_LOG, logs.join('\n'));
  await ctl?.stop().catch(() => undefined);
  for (const b of backends.values()) {
    b.release();
    b.server.closeAllConnections();
    await new Promise((r) => b.server.close(r));
  }
  client?.close();
  await c?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function skipUnlessRoot(t: { skip(m: string): void }): boolean {
  if (isRoot) return false;
  t.skip('needs root (nginx workers switch to an unprivileged user; backends bind 127.0.0.2+)');
  return true;
}

test('the IngressClass kite exists and is the default class', async (t) => {
  if (skipUnlessRoot(t)) return;
  const cls = await waitFor('IngressClass kite', () => client!.get(ingressClasses, undefined, 'kite').catch(() => undefined));
  assert.equal((cls.spec as { controller: string }).controller, 'kite.io/ingress');
  assert.equal(cls.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
});

test('routes by host, including an Ingress without a class', async (t) => {
  if (skipUnlessRoot(t)) return;
  await eventually('a.test', '/', 'alpha');
  assert.equal(await who('b.test', '/anything'), 'beta');
  assert.equal(await who('a.test', '/x/y'), 'alpha');
});

test('Exact beats Prefix, the longest Prefix wins, prefixes match whole path elements', async (t) => {
  if (skipUnlessRoot(t)) return;
  await eventually('paths.test', '/foo', 'beta');
  assert.equal(await who('paths.test', '/foo/'), 'alpha');
  assert.equal(await who('paths.test', '/foo/x'), 'alpha');
  assert.equal(await who('paths.test', '/foo/bar'), 'gamma');
  assert.equal(await who('paths.test', '/foo/bar/baz'), 'gamma');
  assert.equal(await who('paths.test', '/foo/barbaz'), 'alpha');
  assert.equal(await who('paths.test', '/impl/x'), 'gamma');
  // `/foobar` is not under `/foo`; the host has no `/` rule and its Ingress no defaultBackend: 404.
  assert.equal(await who('paths.test', '/foobar'), '404');
  // A backend without ready endpoints is a 503, not a hang.
  assert.equal(await who('paths.test', '/empty'), '503');
});

test('unknown hosts go to the defaultBackend; other classes are not served', async (t) => {
  if (skipUnlessRoot(t)) return;
  await eventually('nobody.test', '/', 'gamma');
  // other.test belongs to another controller's class, so it is just an unknown host here.
  assert.equal(await who('other.test', '/'), 'gamma');
  const ing = await client!.get(ingresses, NS, 'not-ours');
  assert.equal((ing.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress, undefined);
});

test('TLS: the wildcard Secret is chosen by SNI, unknown names get the default certificate, HTTP redirects', async (t) => {
  if (skipUnlessRoot(t)) return;
  const r = await waitFor('HTTPS for blog.example.com', async () => {
    const x = await fetchVia({ host: 'blog.example.com', path: '/hello', https: true, ca: wildcard!.certPem });
    return x.status === 200 ? x : undefined;
  });
  assert.equal(r.certSubject, '*.example.com');
  const echo = JSON.parse(r.body) as Record<string, string>;
  assert.equal(echo.name, 'alpha');
  assert.equal(echo.proto, 'https');
  assert.equal(echo.fhost, 'blog.example.com');
  assert.equal(echo.fport, String(httpsPort));
  assert.equal(echo.xff, '127.0.0.1');
  assert.equal(echo.realIp, '127.0.0.1');
  // A second label is not covered by `*.example.com` (Kubernetes' rule): the catch-all answers, with the default certificate.
  const deep = await fetchVia({ host: 'a.b.example.com', https: true });
  assert.match(deep.certSubject ?? '', /Kite Ingress Controller Default Certificate/);
  assert.equal((JSON.parse(deep.body) as { name: string }).name, 'gamma');
  const unknown = await fetchVia({ host: 'unknown.test', https: true });
  assert.match(unknown.certSubject ?? '', /Kite Ingress Controller Default Certificate/);

  const plain = await fetchVia({ host: 'blog.example.com', path: '/p?q=1' });
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, `https://blog.example.com:${httpsPort}/p?q=1`);
  // Hosts without TLS are not redirected.
  assert.equal(await who('a.test', '/'), 'alpha');

  // The Secret's key is on disk for nginx only.
  const certDir = join(dataDir!, 'nginx', 'certs');
  const files = readdirSync(certDir);
  assert.equal(files.length, 1);
  assert.equal(statSync(join(certDir, files[0]!)).mode & 0o777, 0o600);
});

test('X-Forwarded headers on plain HTTP, and request bodies stream through', async (t) => {
  if (skipUnlessRoot(t)) return;
  const r = await fetchVia({ host: 'a.test', path: '/upload', method: 'POST', body: Buffer.alloc(300_000, 7) });
  assert.equal(r.status, 200);
  const echo = JSON.parse(r.body) as Record<string, string | number>;
  assert.deepEqual([echo.bodyBytes, echo.proto, echo.fhost, echo.fport, echo.xff, echo.host], [300_000, 'http', 'a.test', String(httpPort), '127.0.0.1', 'a.test']);
});

test('WebSocket upgrades pass through', async (t) => {
  if (skipUnlessRoot(t)) return;
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, { headers: { host: 'b.test' } });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const answers: string[] = [];
  ws.on('message', (m: Buffer) => answers.push(m.toString()));
  ws.send('ping-1');
  ws.send('ping-2');
  await waitFor('two echoes', async () => answers.length === 2, 5000, 20);
  assert.deepEqual(answers, ['beta:ping-1', 'beta:ping-2']);
});

test('status.loadBalancer lists the node addresses on served Ingresses', async (t) => {
  if (skipUnlessRoot(t)) return;
  for (const name of ['hosts', 'paths', 'catch-all', 'secure']) {
    await waitFor(`status of ${name}`, async () => {
      const ing = await client!.get(ingresses, NS, name);
      const st = ing.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } } | undefined;
      return st?.loadBalancer?.ingress?.map((i) => i.ip).join(',') === '127.0.0.1';
    });
  }
});

test('upstreams are the ready endpoints: a pod leaving the slice leaves nginx', async (t) => {
  if (skipUnlessRoot(t)) return;
  const seen = new Set<string>();
  await waitFor('both endpoints of svc-both to answer', async () => {
    seen.add(await who('paths.test', '/both'));
    return seen.has('alpha') && seen.has('beta');
  });
  const slice = await client!.get(slices, NS, 'svc-both-manual');
  const next = sliceFor('svc-both', backends.get('alpha')!.port, [{ backend: 'alpha' }, { backend: 'beta', ready: false }]);
  await client!.update(slices, { ...next, metadata: { ...next.metadata, resourceVersion: slice.metadata.resourceVersion } });
  await waitFor('only alpha to answer', async () => {
    for (let i = 0; i < 6; i++) if ((await who('paths.test', '/both')) !== 'alpha') return false;
    return true;
  });
});

test('a configuration change is applied without failing a request in flight', async (t) => {
  if (skipUnlessRoot(t)) return;
  const slow = backends.get('alpha')!;
  // A keep-alive connection that is idle when nginx reloads, and a streaming response still open then.
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  assert.equal((JSON.parse((await fetchVia({ host: 'a.test', agent })).body) as { name: string }).name, 'alpha');
  const inFlight = fetchVia({ host: 'a.test', path: '/slow' });
  await waitFor('the slow request to reach its backend', async () => slow.waiting() === 1, 5000, 10);

  await backendService('svc-delta', [{ backend: 'delta' }]);
  await createIngress('late', { ingressClassName: 'kite', rules: [rule('d.test', [{ path: '/', type: 'Prefix', svc: 'svc-delta' }])] });
  await eventually('d.test', '/', 'delta');
  slow.release();
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'first;last;alpha');
  // The old worker closed the idle keep-alive connection at the reload; the client simply opens a new one.
  assert.equal((JSON.parse((await fetchVia({ host: 'a.test', agent })).body) as { name: string }).name, 'alpha');
  assert.ok(logs.some((l) => /nginx reloaded/.test(l)), logs.join('\n'));
});

test('a configuration nginx refuses is logged and not applied', async (t) => {
  if (skipUnlessRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'kite-ingress-plane-'));
  const planeLogs: string[] = [];
  const plane = new DataPlane({ dataDir: dir, httpPort: await freePort(), httpsPort: await freePort(), bindAddress: '127.0.0.1', log: (m) => planeLogs.push(m) });
  t.after(async () => {
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await plane.prepare();
  const good = { servers: [{ host: '', routes: [], fallback: { status: 404 }, sslRedirect: false }], upstreams: [], certificates: [] };
  assert.equal(await plane.apply(good), 'started');
  assert.equal(await plane.apply(good), 'unchanged');
  const before = plane.render(good);
  // A certificate nginx cannot load fails `nginx -t`; the running configuration stays.
  const bad = { ...good, servers: [{ host: 'bad.test', routes: [], fallback: { status: 404 }, sslRedirect: false, certificate: 'broken' }, ...good.servers], certificates: [{ id: 'broken', pem: 'not a certificate' }] };
  assert.equal(await plane.apply(bad), 'invalid');
  assert.ok(planeLogs.some((l) => /invalid, keeping the running one/.test(l)), planeLogs.join('\n'));
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(plane.conf, 'utf8'), before);
  assert.ok(!existsSync(`${plane.conf}.next`));
});

test('stop() ends nginx and removes the keys', async (t) => {
  if (skipUnlessRoot(t)) return;
  const pidFile = join(dataDir!, 'nginx', 'nginx.pid');
  const { readFileSync } = await import('node:fs');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await ctl!.stop();
  ctl = undefined;
  assert.throws(() => process.kill(pid, 0));
  assert.ok(!existsSync(join(dataDir!, 'nginx', 'certs')));
  await assert.rejects(fetchVia({ host: 'a.test' }), /ECONNREFUSED/);
});
