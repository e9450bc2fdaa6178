import type { KubeObject } from '../api/object.js';
import { resource, type RestClient } from '../client/rest.js';

// status.loadBalancer.ingress of served Ingresses: the addresses clients reach the controller at. Every
// node runs the controller, so every node computes the same list (its own IPs plus those of the other
// Ready nodes) from the Node objects; controllers on several nodes then agree instead of overwriting each
// other's status in turn.

export const ingresses = resource('networking.k8s.io', 'v1', 'ingresses');

interface NodeStatus {
  addresses?: Array<{ type?: string; address?: string }>;
  conditions?: Array<{ type?: string; status?: string }>;
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|:/;

export function publishedAddresses(nodes: KubeObject[], self: { nodeName: string; nodeIPs: string[] }): string[] {
  const out = new Set(self.nodeIPs.filter((a) => IP.test(a)));
  for (const n of nodes) {
    if (n.metadata.name === self.nodeName) continue;
    const st = (n.status ?? {}) as NodeStatus;
    if (st.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') continue;
    const addrs = st.addresses ?? [];
    const external = addrs.filter((a) => a.type === 'ExternalIP' && a.address);
    for (const a of external.length ? external : addrs.filter((a) => a.type === 'InternalIP' && a.address)) out.add(a.address!);
  }
  return [...out].sort();
}

function current(ing: KubeObject): string[] {
  const st = (ing.status ?? {}) as { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
  return (st.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').sort();
}

/**
 * Write `addresses` to the served Ingresses whose status differs, and clear the status of Ingresses kite
 * no longer serves if it still shows kite's addresses. Returns the number of Ingresses written.
 */
export async function publishStatus(client: RestClient, all: KubeObject[], served: Set<string>, addresses: string[], log: (m: string) => void): Promise<number> {
  const want = addresses.join(',');
  let n = 0;
  for (const ing of all) {
    const key = `${ing.metadata.namespace}/${ing.metadata.name}`;
    const have = current(ing).join(',');
    let body: unknown;
    if (served.has(key)) {
      if (have === want || addresses.length === 0) continue;
      body = { status: { loadBalancer: { ingress: addresses.map((ip) => ({ ip })) } } };
    } else {
      if (have === '' || have !== want) continue;
      body = { status: { loadBalancer: { ingress: null } } };
    }
    try {
      await client.patch(ingresses, ing.metadata.namespace, ing.metadata.name!, 'merge', body, { subresource: 'status' });
      n++;
    } catch (e) {
      log(`cannot update the status of ingress ${key}: ${(e as Error).message}`);
    }
  }
  return n;
}
