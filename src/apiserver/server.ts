import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { networkInterfaces } from 'node:os';
import type { KubeObject } from '../api/object.js';
import { StatusError, badRequest, routeNotFound, unauthorized } from '../api/errors.js';
import { findResource } from '../api/resources.js';
import { openapiV2, openapiV2Protobuf, openapiV3Document, openapiV3Index } from '../api/openapi.js';
import { OPENAPI_V2_PROTOBUF, acceptsOpenapiV2Protobuf } from '../api/openapiproto.js';
import type { Store } from '../storage/interface.js';
import type { Pki } from './pki.js';
import { parsePath } from './requestinfo.js';
import { handleResource, type Ctx } from './handler.js';
import { sendError, sendJson } from './response.js';
import { aggregatedDiscovery, legacyApiVersions, legacyGroup, legacyGroupList, resourceList, wantsAggregated, AGGREGATED_V2, AGGREGATED_V2BETA1 } from './discovery.js';
import { Registries } from './registries.js';
import { managedFieldsHooks } from './registry/managedfields.js';
import { AdmissionChain } from './admission/chain.js';
import { ServiceAllocator, parseCidr } from './admission/serviceips.js';
import { PodStreams } from './streams/index.js';
import { MetricsApi, isMetricsPath } from './streams/metrics.js';
import { writeUpgradeError } from './streams/proxy.js';
import { Authenticator } from './authn.js';
import { ServiceAccountTokens } from './authtokens.js';
import { InProcessListener } from './loopback.js';

// The HTTPS front door: authentication, routing to discovery, OpenAPI, health and resource handlers.

export interface ApiServerOptions {
  store: Store;
  pki: Pki;
  port: number;
  bindAddress: string;
  serviceCidr: string;
  nodePortRange: { min: number; max: number };
  defaultTolerationSeconds?: number;
}

export interface ApiServer {
  server: Server;
  registries: Registries;
  url: string;
  /** Opens an in-process connection to this server (for ClientConfig.connect: components in this process). */
  connect(): Duplex;
  /** Serves an in-process connection opened elsewhere (the server's end of a PortPipe from a worker thread). */
  accept(serverEnd: Duplex): void;
  close(): Promise<void>;
}

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+kite',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-21T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'kite',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

// /cacerts lets a joining agent fetch the CA to trust before it has any credentials (k3s serves the same).
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz', '/cacerts']);


export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const allocator = new ServiceAllocator(parseCidr(opts.serviceCidr), opts.nodePortRange);
  const admission = new AdmissionChain(allocator, { defaultTolerationSeconds: opts.defaultTolerationSeconds ?? 300 });
  const registries: Registries = new Registries(opts.store, admission, managedFieldsHooks, (ctx, sub) => streams.serve(ctx, sub));
  const streams = new PodStreams(registries, opts.pki.token);
  const metrics = new MetricsApi(registries, opts.pki.token);
  const pcInfo = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  admission.setPriorityClassSource(async () => (await registries.get(pcInfo).list(undefined, { cached: true })).items);
  // Uncached: a PVC created right after its default StorageClass must see it, and classes are few.
  const scInfo = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
  admission.setStorageClassSource(async () => (await registries.get(scInfo).list(undefined, {})).items);
  const icInfo = findResource('networking.k8s.io', 'v1', 'ingressclasses')!;
  admission.setIngressClassSource(async () => (await registries.get(icInfo).list(undefined, {})).items);
  const svcInfo = findResource('', 'v1', 'services')!;
  allocator.load((await registries.get(svcInfo).list(undefined, {})).items);
  await bootstrap(registries, allocator.kubernetesServiceIp, opts.port, advertiseAddress(opts.bindAddress));

  const tokens = new ServiceAccountTokens(opts.pki.serviceAccountKeyPem);
  const authn = new Authenticator({
    adminToken: opts.pki.token,
    tokens,
    lookup: (resource, namespace, name) => registries.get(findResource('', 'v1', resource)!).tryGet(namespace, name),
  });
  let ready = true;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void route(req, res).catch((e: unknown) => sendError(req, res, e));
  };
  const server = createServer(
    {
      key: opts.pki.serverKeyPem,
      cert: opts.pki.serverCertPem,
      ca: opts.pki.caCertPem,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    },
    onRequest,
  );
  const inProcess = new InProcessListener(onRequest);
  // The authenticator reads a client certificate once per connection, which holds only while a connection
  // cannot change certificates; kube-apiserver does not renegotiate either.
  server.on('secureConnection', (sock: TLSSocket) => sock.disableRenegotiation());
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  // Watches are long-lived: no per-request timeout.
  server.requestTimeout = 0;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kite');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (!PUBLIC_PATHS.has(path) && !(await authn.authenticate(req))) throw unauthorized();
    switch (path) {
      case '/version':
        return sendJson(req, res, 200, VERSION_INFO);
      case '/healthz':
      case '/livez':
      case '/readyz':
        if (!ready) return sendJson(req, res, 503, '[-]shutdown failed: reason withheld\nreadyz check failed', 'text/plain; charset=utf-8');
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('ok');
        return;
      case '/api':
      case '/apis': {
        const prefix = path === '/api' ? 'api' : 'apis';
        const agg = wantsAggregated(req.headers.accept);
        if (agg) return sendJson(req, res, 200, aggregatedDiscovery(prefix, agg), agg === 'v2' ? AGGREGATED_V2 : AGGREGATED_V2BETA1, { Vary: 'Accept' });
        return sendJson(req, res, 200, prefix === 'api' ? legacyApiVersions(req.headers.host ?? `127.0.0.1:${opts.port}`) : legacyGroupList(), 'application/json', { Vary: 'Accept' });
      }
      case '/openapi/v2': {
        // kubectl's client-side validation (a `kind: List`, --validate=strict) reads only the protobuf form.
        if (acceptsOpenapiV2Protobuf(req.headers.accept)) return sendBytes(req, res, openapiV2Protobuf(), OPENAPI_V2_PROTOBUF);
        const doc = openapiV2();
        return sendJson(req, res, 200, doc.body, 'application/json', { ETag: doc.etag, Vary: 'Accept' });
      }
      case '/.well-known/openid-configuration':
        return sendJson(req, res, 200, tokens.openidConfiguration());
      case '/openid/v1/jwks':
        return sendJson(req, res, 200, tokens.jwks(), 'application/jwk-set+json');
      case '/openapi/v3':
        return sendJson(req, res, 200, openapiV3Index());
      case '/cacerts':
        return sendJson(req, res, 200, opts.pki.caCertPem, 'text/plain; charset=utf-8');
    }
    if (isMetricsPath(path)) return metrics.serve(req, res, url, path);
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapiV3Document(path.slice('/openapi/v3/'.length));
      if (!doc) throw routeNotFound();
      return sendJson(req, res, 200, doc.body, 'application/json', {
        ETag: `"${doc.hash}"`,
        'Cache-Control': 'public, immutable',
        Expires: new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString(),
      });
    }
    const parsed = parsePath(req.method ?? 'GET', path, url.searchParams);
    switch (parsed.type) {
      case 'group': {
        const g = legacyGroup(parsed.group);
        if (!g) throw routeNotFound();
        return sendJson(req, res, 200, g);
      }
      case 'group-version': {
        const l = resourceList(parsed.group, parsed.version);
        if (!l) throw routeNotFound();
        return sendJson(req, res, 200, l);
      }
      case 'resource': {
        const ctx: Ctx = { req, res, url, rr: parsed.req, registries, tokens };
        return handleResource(ctx);
      }
      default:
        throw routeNotFound();
    }
  }

  // exec, attach and portforward arrive as upgrades (WebSocket, or SPDY/3.1 on kubectl's retry).
  // Upgraded connections leave the HTTP server's bookkeeping: close() ends them itself.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    void routeUpgrade(req, socket, head).catch((e: unknown) => writeUpgradeError(socket, e));
  });

  async function routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!(await authn.authenticate(req))) throw unauthorized();
    const url = new URL(req.url ?? '/', 'https://kite');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const parsed = parsePath(req.method ?? 'GET', path, url.searchParams);
    if (parsed.type !== 'resource' || !PodStreams.isUpgradeable(parsed.req)) throw badRequest(`${path} cannot be upgraded: only pods/exec, pods/attach and pods/portforward speak WebSocket or SPDY`);
    return streams.upgrade(req, socket, head, parsed.req, url);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
  return {
    server,
    registries,
    url: `https://${host}:${port}`,
    connect: inProcess.connect,
    accept: inProcess.accept,
    close: async () => {
      ready = false;
      inProcess.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      });
    },
  };
}

/** A cached binary document, gzipped when the client takes it (as sendJson does for JSON). */
function sendBytes(req: IncomingMessage, res: ServerResponse, doc: { body: Buffer; etag: string }, contentType: string): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const payload = gzip ? gzipSync(doc.body, { level: 1 }) : doc.body;
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': payload.length, ETag: doc.etag, Vary: 'Accept', 'Cache-Control': 'no-cache, private', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

/** The address other components reach this server at (kube-apiserver's --advertise-address). */
function advertiseAddress(bind: string): string {
  if (bind !== '0.0.0.0' && bind !== '::') return bind;
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}


/** What exists at first start: the system namespaces and the `kubernetes` service. */
async function bootstrap(registries: Registries, kubernetesIp: string, port: number, advertise: string): Promise<void> {
  const nsInfo = findResource('', 'v1', 'namespaces')!;
  const nsReg = registries.get(nsInfo);
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!(await nsReg.tryGet(undefined, name))) {
      await createIgnoringExists(() => nsReg.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'kite' }));
    }
  }
  const svcReg = registries.get(findResource('', 'v1', 'services')!);
  if (!(await svcReg.tryGet('default', 'kubernetes'))) {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: kubernetesIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }], sessionAffinity: 'None' },
    };
    await createIgnoringExists(() => svcReg.create(svc, { fieldManager: 'kite' }));
  }
  // kube-apiserver keeps the `kubernetes` service's endpoints itself: they name the API server, not pods.
  // Endpoints may not be loopback addresses, so a server bound to loopback only publishes none.
  if (advertise.startsWith('127.') || advertise === '::1') return;
  const epReg = registries.get(findResource('', 'v1', 'endpoints')!);
  const subsets = [{ addresses: [{ ip: advertise }], ports: [{ name: 'https', port, protocol: 'TCP' }] }];
  const ep = await epReg.tryGet('default', 'kubernetes');
  if (!ep) {
    await createIgnoringExists(() => epReg.create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets } as KubeObject, { fieldManager: 'kite' }));
  } else if (JSON.stringify(ep.subsets) !== JSON.stringify(subsets)) {
    await epReg.update('default', 'kubernetes', (cur) => ({ ...cur, subsets }), { fieldManager: 'kite' });
  }
  const sliceReg = registries.get(findResource('discovery.k8s.io', 'v1', 'endpointslices')!);
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [advertise], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
  const existing = await sliceReg.tryGet('default', 'kubernetes');
  if (!existing) await createIgnoringExists(() => sliceReg.create(slice as KubeObject, { fieldManager: 'kite' }));
  else if (JSON.stringify(existing.endpoints) !== JSON.stringify(slice.endpoints) || JSON.stringify(existing.ports) !== JSON.stringify(slice.ports)) {
    await sliceReg.update('default', 'kubernetes', (cur) => ({ ...cur, endpoints: slice.endpoints, ports: slice.ports }), { fieldManager: 'kite' });
  }
}

async function createIgnoringExists(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 409)) throw e;
  }
}
