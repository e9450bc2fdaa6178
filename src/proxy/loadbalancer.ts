import type { KubeObject } from '../api/object.js';
import type { RestClient } from '../client/rest.js';
import { resource } from '../client/rest.js';
import { isIPv4, isOurLoadBalancer } from './model.js';

// A ServiceLB-style load balancer: every LoadBalancer service without a loadBalancerClass is published on
// the nodes' own addresses (or on a configured pool), and the proxier DNATs traffic to those addresses like
// the ClusterIP. Every node computes the same list from the Node objects, so proxies on several nodes agree
// instead of overwriting each other's status.

interface NodeStatus {
  addresses?: Array<{ type?: string; address?: string }>;
  conditions?: Array<{ type?: string; status?: string }>;
}

/** The addresses to publish: the pool if configured, else this node's IPs plus those of other Ready nodes. */
export function ingressAddresses(nodes: KubeObject[], self: { nodeName: string; nodeIPs: string[] }, pool?: string[]): string[] {
  if (pool && pool.length > 0) return [...new Set(pool.filter(isIPv4))].sort();
  const out = new Set(self.nodeIPs.filter(isIPv4));
  for (const n of nodes) {
    if (n.metadata.name === self.nodeName) continue;
    const st = (n.status ?? {}) as NodeStatus;
    if (st.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') continue;
    const addrs = st.addresses ?? [];
    const ext = addrs.filter((a) => a.type === 'ExternalIP' && isIPv4(a.address));
    for (const a of ext.length ? ext : addrs.filter((a) => a.type === 'InternalIP' && isIPv4(a.address))) out.add(a.address!);
  }
  return [...out].sort();
}

function currentIngress(svc: KubeObject): string[] {
  const st = (svc.status ?? {}) as { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
  return (st.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').sort();
}

const services = resource('', 'v1', 'services');

/** Write status.loadBalancer.ingress where it differs; returns how many services were updated. */
export async function publishLoadBalancers(client: RestClient, svcs: KubeObject[], addresses: string[], log: (m: string) => void): Promise<number> {
  let n = 0;
  for (const svc of svcs) {
    if (!isOurLoadBalancer(svc) || addresses.length === 0) continue;
    if (currentIngress(svc).join(',') === addresses.join(',')) continue;
    const { namespace, name } = svc.metadata;
    try {
      await client.patch(services, namespace, name!, 'merge', { status: { loadBalancer: { ingress: addresses.map((ip) => ({ ip, ipMode: 'VIP' })) } } }, { subresource: 'status' });
      n++;
    } catch (e) {
      log(`cannot publish load balancer address of service ${namespace}/${name}: ${(e as Error).message}`);
    }
  }
  return n;
}
