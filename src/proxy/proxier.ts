import type { KubeObject } from '../api/object.js';
import { Informer, objectKey } from '../client/informer.js';
import { resource, type RestClient } from '../client/rest.js';
import { hasBridgeNetfilter, NodeNetwork } from './host.js';
import { ingressAddresses, publishLoadBalancers } from './loadbalancer.js';
import { SERVICE_NAME_LABEL, isProxied, servicePorts, type ServicePortInfo } from './model.js';
import { nftRunner, type NftRunner } from './nft.js';
import { fullScript, diffScript } from './nftscript.js';
import { renderRuleset, type Ruleset } from './render.js';

// The node's service proxy, as kube-proxy in nftables mode: informers on Services, EndpointSlices, Endpoints
// and Nodes feed a rate-limited sync loop; each sync renders the whole desired table and applies the
// difference from what the kernel has in one atomic `nft -f -` transaction (the whole table after a
// failure). Level-based: a sync never depends on which events led to it.

export interface ServiceProxyOptions {
  client: RestClient;
  nodeName: string;
  nodeIPs: string[];
  serviceCidr: string;
  /** The pod bridge (route_localnet, nf_call_iptables, the service CIDR route). */
  bridge: string;
  /** nft table in the `ip` family; default "kite". */
  tableName?: string;
  /** Addresses to publish for LoadBalancer services instead of the nodes' IPs. */
  loadBalancerPool?: string[];
  /** Least time between two syncs; events within it are coalesced into one sync. Default 100 ms. */
  minSyncIntervalMs?: number;
  /** Run nft through this command prefix (tests: a private network namespace). */
  nftPrefix?: string[];
  log(m: string): void;
}

export interface ServiceProxy {
  stop(): Promise<void>;
  /** Sync now (or right after the sync in progress) and resolve when the rules are in the kernel. */
  syncNow(): Promise<void>;
}

const FAMILY = 'ip';
const MAX_BACKOFF_MS = 10_000;

export async function startServiceProxy(opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const table = opts.tableName ?? 'kite';
  const minInterval = opts.minSyncIntervalMs ?? 100;
  const log = (m: string) => opts.log(`proxy: ${m}`);
  const nft: NftRunner = nftRunner(opts.nftPrefix);
  const host = new NodeNetwork(opts.bridge, opts.serviceCidr, log);
  const fallbackMasquerade = hasBridgeNetfilter() ? undefined : opts.bridge;

  const svcInf = new Informer(opts.client, resource('', 'v1', 'services'), { log });
  const sliceInf = new Informer(opts.client, resource('discovery.k8s.io', 'v1', 'endpointslices'), { log });
  const epInf = new Informer(opts.client, resource('', 'v1', 'endpoints'), { log });
  const nodeInf = new Informer(opts.client, resource('', 'v1', 'nodes'), { log });
  sliceInf.addIndexer('service', (o) => {
    const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${o.metadata.namespace}/${svc}`] : [];
  });
  const informers = [svcInf, sliceInf, epInf, nodeInf];

  let applied: Ruleset | undefined; // what the kernel has; undefined = unknown, next sync writes the whole table
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastSyncEnd = 0;
  let backoff = 0;
  let requested = 0; // generation of the newest sync request
  let completed = 0; // newest generation whose sync succeeded
  const waiters: Array<{ gen: number; resolve(): void; reject(e: Error): void }> = [];

  function collectPorts(): ServicePortInfo[] {
    const out: ServicePortInfo[] = [];
    for (const svc of svcInf.list()) {
      if (!isProxied(svc)) continue;
      const key = objectKey(svc);
      out.push(...servicePorts(svc, sliceInf.byIndex('service', key), epInf.get(key)));
    }
    return out;
  }

  async function syncOnce(): Promise<void> {
    await host.ensure();
    const desired = renderRuleset(collectPorts(), { nodeName: opts.nodeName, serviceCidr: opts.serviceCidr, bridgeFallbackMasquerade: fallbackMasquerade });
    const script = applied ? diffScript(FAMILY, table, applied, desired) : fullScript(FAMILY, table, desired);
    if (script) {
      applied = undefined; // if nft fails midway we no longer know; the transaction itself is all-or-nothing
      await nft.apply(script);
    }
    applied = desired;
    const addresses = ingressAddresses(nodeInf.list(), opts, opts.loadBalancerPool);
    await publishLoadBalancers(opts.client, svcInf.list(), addresses, log);
  }

  function schedule(): void {
    if (stopped || timer || running) return;
    const wait = Math.max(0, lastSyncEnd + Math.max(minInterval, backoff) - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      running = runSync().finally(() => {
        running = undefined;
        if (completed < requested) schedule();
      });
    }, wait);
  }

  async function runSync(): Promise<void> {
    const gen = requested;
    try {
      await syncOnce();
      backoff = 0;
      completed = gen;
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.gen <= gen) waiters.splice(i, 1)[0]!.resolve();
    } catch (e) {
      backoff = Math.min(Math.max(backoff * 2, 500), MAX_BACKOFF_MS);
      const err = e as Error;
      log(`sync failed, retrying in ${backoff} ms: ${err.message}`);
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.gen <= gen) waiters.splice(i, 1)[0]!.reject(err);
    } finally {
      lastSyncEnd = Date.now();
    }
  }

  function requestSync(): void {
    requested++;
    if (svcInf.hasSynced() && sliceInf.hasSynced() && epInf.hasSynced() && nodeInf.hasSynced()) schedule();
  }

  const onChange = { add: requestSync, update: requestSync, delete: requestSync };
  // Endpoints matter only for selector-less services, Nodes only for load balancer addresses: filter noise.
  svcInf.addHandlers(onChange);
  sliceInf.addHandlers(onChange);
  epInf.addHandlers({
    add: (o) => relevantEndpoints(o) && requestSync(),
    update: (_, o) => relevantEndpoints(o) && requestSync(),
    delete: (o) => relevantEndpoints(o) && requestSync(),
  });
  nodeInf.addHandlers({ add: requestSync, update: (a, b) => nodeChanged(a, b) && requestSync(), delete: requestSync });
  function relevantEndpoints(o: KubeObject): boolean {
    const svc = svcInf.get(objectKey(o));
    return !!svc && !(svc.spec as { selector?: unknown } | undefined)?.selector;
  }

  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.waitForSync()));
  // Clear any leftover table of an earlier run now, so a dead proxy's rules are gone even if the first sync fails.
  await syncNowImpl().catch((e: Error) => log(`first sync failed: ${e.message}`));

  function syncNowImpl(): Promise<void> {
    if (stopped) return Promise.reject(new Error('service proxy is stopped'));
    requested++;
    const gen = requested;
    const p = new Promise<void>((resolve, reject) => waiters.push({ gen, resolve, reject }));
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (!running) {
      lastSyncEnd = 0; // an explicit request skips the rate limit
      schedule();
    }
    return p;
  }

  return {
    syncNow: syncNowImpl,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
      await Promise.all(informers.map((i) => i.stop()));
      for (const w of waiters.splice(0)) w.reject(new Error('service proxy stopped'));
      await nft.run(['delete', 'table', FAMILY, table]).catch((e: Error) => {
        if (!/No such file or directory/.test(e.message)) log(`cannot delete nft table ${table}: ${e.message}`);
      });
      await host.cleanup();
    },
  };
}

function nodeChanged(a: KubeObject, b: KubeObject): boolean {
  // Heartbeats change conditions' timestamps every few seconds; only addresses and readiness matter here.
  const view = (n: KubeObject) => {
    const st = (n.status ?? {}) as { addresses?: unknown; conditions?: Array<{ type?: string; status?: string }> };
    return JSON.stringify([st.addresses, st.conditions?.find((c) => c.type === 'Ready')?.status]);
  };
  return view(a) !== view(b);
}
