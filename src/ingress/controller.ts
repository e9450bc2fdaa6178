import type { KubeObject } from '../api/object.js';
import { Informer, objectKey } from '../client/informer.js';
import { resource, type RestClient } from '../client/rest.js';
import { DataPlane } from './dataplane.js';
import { ClassFilter, ensureIngressClass, ingressClasses } from './ingressclass.js';
import { buildModel, type TlsCertificate } from './model.js';
import { ingresses, publishStatus, publishedAddresses } from './status.js';
import { certificateFromSecret } from './tls.js';
import { SyncRunner } from '../client/syncrunner.js';

// The node's ingress controller, as ingress-nginx: informers on Ingresses, IngressClasses, Services,
// EndpointSlices, Secrets and Nodes feed a rate-limited sync loop. Each sync builds the whole model from
// the caches (level-based: it never depends on which events led to it), renders nginx.conf, and applies it
// only when the text changed, after `nginx -t`, by a graceful reload. Upstreams are the pods' addresses
// from EndpointSlices, so a pod leaving a Service leaves nginx at the next sync. Then it publishes the
// node addresses in status.loadBalancer of every served Ingress.

export interface IngressControllerOptions {
  client: RestClient;
  /** The node agent's data dir; nginx's files go to `<dataDir>/nginx`. */
  dataDir: string;
  nodeName: string;
  nodeIPs: string[];
  httpPort?: number;
  httpsPort?: number;
  bindAddress?: string;
  /** The IngressClass kite creates and serves; default "kite". */
  ingressClass?: string;
  /** Least time between two syncs (and so between two nginx reloads); default 1000 ms. */
  minSyncIntervalMs?: number;
  nginxBinary?: string;
  log(m: string): void;
}

export interface IngressController {
  stop(): Promise<void>;
  /** Resolves once nginx serves the first configuration; rejects if that first attempt failed. */
  ready(): Promise<void>;
  /** Sync now (or right after the sync in progress); resolves when nginx has been told the result. */
  syncNow(): Promise<void>;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MAX_BACKOFF_MS = 30_000;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
  settled: boolean;
  failed: boolean;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody asked about is not an unhandled one
  const d: Deferred = {
    promise,
    settled: false,
    failed: false,
    resolve: () => {
      d.settled = true;
      resolve();
    },
    reject: (e) => {
      d.settled = true;
      d.failed = true;
      reject(e);
    },
  };
  return d;
}

export async function startIngressController(opts: IngressControllerOptions): Promise<IngressController> {
  const log = (m: string) => opts.log(`ingress: ${m}`);
  const className = opts.ingressClass ?? 'kite';
  const minInterval = opts.minSyncIntervalMs ?? 1000;
  const plane = new DataPlane({
    dataDir: opts.dataDir,
    httpPort: opts.httpPort ?? 80,
    httpsPort: opts.httpsPort ?? 443,
    bindAddress: opts.bindAddress ?? '0.0.0.0',
    nginxBinary: opts.nginxBinary,
    log,
  });
  await plane.prepare();

  const ingInf = new Informer(opts.client, ingresses, { log });
  const classInf = new Informer(opts.client, ingressClasses, { log });
  const svcInf = new Informer(opts.client, resource('', 'v1', 'services'), { log });
  const sliceInf = new Informer(opts.client, resource('discovery.k8s.io', 'v1', 'endpointslices'), { log });
  const secretInf = new Informer(opts.client, resource('', 'v1', 'secrets'), { log });
  const nodeInf = new Informer(opts.client, resource('', 'v1', 'nodes'), { log });
  sliceInf.addIndexer('service', (o) => {
    const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${o.metadata.namespace}/${svc}`] : [];
  });
  const informers = [ingInf, classInf, svcInf, sliceInf, secretInf, nodeInf];
  const classes = new ClassFilter();

  // What the last sync looked at: events about anything else cannot change the configuration.
  let referencedServices = new Set<string>();
  let referencedSecrets = new Set<string>();
  let lastWarnings = new Set<string>();
  const certCache = new Map<string, { version: string; result: TlsCertificate | { error: string } }>();

  let stopped = false;
  let readiness = deferred();

  function certificate(key: string): TlsCertificate | { error: string } {
    const secret = secretInf.get(key);
    const version = secret ? `${secret.metadata.uid}/${secret.metadata.resourceVersion}` : '';
    const cached = certCache.get(key);
    if (cached && cached.version === version) return cached.result;
    const result = certificateFromSecret(secret, key);
    certCache.set(key, { version, result });
    return result;
  }

  async function syncOnce(): Promise<void> {
    classes.update(classInf.list());
    const all = ingInf.list();
    const served = all.filter((i) => classes.serves(i) && !i.metadata.deletionTimestamp);
    const services = new Set<string>();
    const secrets = new Set<string>();
    const { model, warnings } = buildModel({
      ingresses: served,
      service: (key) => {
        services.add(key);
        return svcInf.get(key);
      },
      slices: (key) => sliceInf.byIndex('service', key),
      certificate: (key) => {
        secrets.add(key);
        return certificate(key);
      },
    });
    referencedServices = services;
    referencedSecrets = secrets;
    for (const k of [...certCache.keys()]) if (!secrets.has(k)) certCache.delete(k);
    const now = new Set(warnings);
    for (const w of warnings) if (!lastWarnings.has(w)) log(w);
    lastWarnings = now;

    const result = await plane.apply(model);
    if (result === 'invalid' && !readiness.settled) throw new Error('the first generated nginx configuration is invalid (see the log above)');
    if (result === 'started' || result === 'reloaded') {
      log(`nginx ${result === 'started' ? 'started' : 'reloaded'}: ${model.servers.length} servers, ${model.upstreams.length} upstreams, ${model.certificates.length} certificates, ${served.length} ingresses`);
    }
    if (readiness.failed) readiness = deferred();
    if (!readiness.settled) readiness.resolve();

    const addresses = publishedAddresses(nodeInf.list(), opts);
    await publishStatus(opts.client, all, new Set(served.map(objectKey)), addresses, log);
  }

  const runner = new SyncRunner({
    sync: async () => {
      try {
        await syncOnce();
      } catch (e) {
        if (!readiness.settled) readiness.reject(e as Error);
        throw e;
      }
    },
    minIntervalMs: minInterval,
    initialBackoffMs: 1000,
    maxBackoffMs: MAX_BACKOFF_MS,
    ready: () => informers.every((i) => i.hasSynced()),
    log,
  });
  const requestSync = () => runner.request();

  plane.onUnexpectedExit = (reason) => {
    if (stopped) return;
    log(`${reason}; starting it again`);
    runner.backOff();
    requestSync();
  };

  const always = { add: requestSync, update: requestSync, delete: requestSync };
  ingInf.addHandlers(always);
  classInf.addHandlers(always);
  const when = (relevant: (o: KubeObject) => boolean) => ({
    add: (o: KubeObject) => relevant(o) && requestSync(),
    update: (a: KubeObject, b: KubeObject) => (relevant(a) || relevant(b)) && requestSync(),
    delete: (o: KubeObject) => relevant(o) && requestSync(),
  });
  svcInf.addHandlers(when((o) => referencedServices.has(objectKey(o))));
  sliceInf.addHandlers(when((o) => referencedServices.has(`${o.metadata.namespace}/${o.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`)));
  secretInf.addHandlers(when((o) => referencedSecrets.has(objectKey(o))));
  nodeInf.addHandlers({ add: requestSync, update: (a, b) => nodeView(a) !== nodeView(b) && requestSync(), delete: requestSync });

  // One attempt before the informers start, so the first configuration already serves the default class's
  // Ingresses; if the API server is not there yet, retries go on in the background and the IngressClass
  // informer triggers a sync when the class appears.
  let classTimer: NodeJS.Timeout | undefined;
  const makeClass = (delay: number) => {
    classTimer = setTimeout(() => {
      classTimer = undefined;
      ensureIngressClass(opts.client, className, log).catch((e: Error) => {
        if (stopped) return;
        log(`cannot ensure IngressClass ${className} (retrying): ${e.message}`);
        makeClass(Math.min(delay * 2, MAX_BACKOFF_MS));
      });
    }, delay);
  };
  await ensureIngressClass(opts.client, className, log).catch((e: Error) => {
    log(`cannot ensure IngressClass ${className} (retrying): ${e.message}`);
    makeClass(1000);
  });

  for (const i of informers) i.start();
  void Promise.all(informers.map((i) => i.waitForSync())).then(() => requestSync());

  return {
    ready: () => readiness.promise,
    syncNow: () => runner.syncNow(),
    async stop() {
      stopped = true;
      if (classTimer) clearTimeout(classTimer);
      const err = new Error('ingress controller is stopped');
      await runner.stop(err);
      await Promise.all(informers.map((i) => i.stop()));
      if (!readiness.settled) readiness.reject(err);
      await plane.stop();
    },
  };
}

function nodeView(n: KubeObject): string {
  // Heartbeats rewrite condition timestamps every few seconds; only addresses and readiness matter here.
  const st = (n.status ?? {}) as { addresses?: unknown; conditions?: Array<{ type?: string; status?: string }> };
  return JSON.stringify([st.addresses, st.conditions?.find((c) => c.type === 'Ready')?.status]);
}
