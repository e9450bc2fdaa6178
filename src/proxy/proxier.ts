import type { KubeObject } from '../api/object.js';
import { Informer, objectKey } from '../client/informer.js';
import { resource, type RestClient } from '../client/rest.js';
import { SyncRunner } from '../client/syncrunner.js';
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

  const runner = new SyncRunner({
    sync: syncOnce,
    minIntervalMs: minInterval,
    initialBackoffMs: 500,
    maxBackoffMs: MAX_BACKOFF_MS,
    ready: () => informers.every((i) => i.hasSynced()),
    log,
  });
  const requestSync = () => runner.request();

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
  await runner.syncNow().catch((e: Error) => log(`first sync failed: ${e.message}`));

  return {
    syncNow: () => runner.syncNow(),
    async stop() {
      await runner.stop(new Error('service proxy is stopped'));
      await Promise.all(informers.map((i) => i.stop()));
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
