import type { KubeObject } from '../api/object.js';
import { Informer } from '../client/informer.js';
import { resource, type RestClient } from '../client/rest.js';
import { ClusterIndex } from './clusterindex.js';
import { Forwarder, type Upstream } from './forward.js';
import { listenDns, type Listener } from './listeners.js';
import { canonicalName } from './names.js';
import { Responder } from './responder.js';
import { upstreamsFromResolvConf } from './resolvconf.js';
import { ClusterZone } from './zone.js';

// Cluster DNS as the node agent runs it (`--cluster-dns`, `--cluster-domain`): informers on Services and
// EndpointSlices feed an in-memory index, and UDP/TCP listeners answer from it; other names are forwarded
// to the node's resolvers.

export interface ClusterDnsOptions {
  client: RestClient;
  listen: Array<{ address: string; port: number }>;
  /** e.g. "cluster.local". */
  clusterDomain: string;
  /** Where names outside the cluster go; default: the nameservers of /etc/resolv.conf. */
  upstreams?: Upstream[];
  /** TTL of cluster records and of negative answers (SOA minimum); default 5 s. */
  ttl?: number;
  /** Time for one forwarded query across all upstreams before the client gets SERVFAIL; default 2000 ms. */
  forwardTimeoutMs?: number;
  log(m: string): void;
}

export interface ClusterDns {
  stop(): Promise<void>;
  /** Resolves once the informers have synced: from then on cluster names are answered, not SERVFAILed. */
  ready(): Promise<void>;
}

export async function startClusterDns(opts: ClusterDnsOptions): Promise<ClusterDns> {
  const zone = canonicalName(opts.clusterDomain);
  if (!zone) throw new Error('cluster DNS needs a cluster domain (--cluster-domain), e.g. cluster.local');
  const ttl = opts.ttl ?? 5;
  const upstreams = withoutSelf(opts.upstreams ?? upstreamsFromResolvConf(), opts.listen, opts.log);
  if (upstreams.length === 0) opts.log('dns: no upstream resolvers (none usable in /etc/resolv.conf): names outside the cluster will get SERVFAIL');

  const index = new ClusterIndex(zone);
  const services = new Informer(opts.client, resource('', 'v1', 'services'), { log: opts.log });
  const slices = new Informer(opts.client, resource('discovery.k8s.io', 'v1', 'endpointslices'), { log: opts.log });
  services.addHandlers({ add: (o: KubeObject) => index.upsertService(o), update: (_old, o) => index.upsertService(o), delete: (o) => index.deleteService(o) });
  slices.addHandlers({ add: (o: KubeObject) => index.upsertSlice(o), update: (_old, o) => index.upsertSlice(o), delete: (o) => index.deleteSlice(o) });

  const forwarder = new Forwarder({ upstreams, timeoutMs: opts.forwardTimeoutMs ?? 2000, cacheEntries: 1000, log: opts.log });
  let synced = false;
  const responder = new Responder(new ClusterZone(index, zone, ttl), index, forwarder, () => synced);

  const listeners: Listener[] = [];
  try {
    for (const addr of opts.listen) listeners.push(await listenDns(addr, responder.handle, opts.log));
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    await forwarder.close();
    throw e;
  }
  services.start();
  slices.start();
  const syncedP = Promise.all([services.waitForSync(), slices.waitForSync()]).then(() => {
    synced = true;
  });
  opts.log(`dns: serving ${zone} on ${opts.listen.map((a) => `${a.address}:${a.port}`).join(', ')}; forwarding to ${upstreams.map((u) => `${u.address}:${u.port}`).join(', ') || 'nothing'}`);

  return {
    ready: () => syncedP,
    async stop() {
      await Promise.all(listeners.map((l) => l.close()));
      await Promise.all([services.stop(), slices.stop(), forwarder.close()]);
    },
  };
}

/** Forwarding to ourselves would loop each query until it times out (CoreDNS's loop plugin catches the same). */
function withoutSelf(upstreams: Upstream[], listen: Array<{ address: string; port: number }>, log: (m: string) => void): Upstream[] {
  return upstreams.filter((u) => {
    const self = listen.some((l) => l.port === u.port && (l.address === u.address || l.address === '0.0.0.0' || l.address === '::'));
    if (self) log(`dns: not forwarding to ${u.address}:${u.port}: that is this server`);
    return !self;
  });
}
