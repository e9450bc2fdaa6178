// networking.k8s.io and discovery.k8s.io kinds.

import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressRule, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { KubeObject } from '../object.js';
import { AGE_COLUMN, NAME_COLUMN, age, col, listWithMore, loadBalancerAddresses, selectorOrNone } from './format.js';
import type { Printer } from './types.js';

function as<T>(o: KubeObject): T {
  return o as unknown as T;
}

/** Up to three rule hosts; `*` when no rule names a host. The "more" count is over rules, hosts or not. */
function ingressHosts(rules: IngressRule[] | undefined): string {
  const rs = rules ?? [];
  const max = 3;
  const hosts: string[] = [];
  let more = false;
  for (const r of rs) {
    if (hosts.length === max) more = true;
    if (!more && r.host) hosts.push(r.host);
  }
  if (hosts.length === 0) return '*';
  const s = hosts.join(',');
  return more ? `${s} + ${rs.length - max} more...` : s;
}

export const ingressPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Class', 'string', 'IngressClass that implements the ingress.'),
    col('Hosts', 'string', 'Hosts the rules match.'),
    col('Address', 'string', 'Load-balancer addresses serving the ingress.'),
    col('Ports', 'string', 'Ports the ingress listens on.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const ing = as<Ingress>(o);
    return {
      cells: [
        ing.metadata?.name ?? '',
        ing.spec?.ingressClassName ?? '<none>',
        ingressHosts(ing.spec?.rules),
        loadBalancerAddresses(ing.status?.loadBalancer?.ingress, true),
        (ing.spec?.tls ?? []).length ? '80, 443' : '80',
        age(ing.metadata?.creationTimestamp, ctx.now),
      ],
    };
  },
};

export const ingressClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Controller', 'string', 'Controller that implements the class.'),
    col('Parameters', 'string', 'Object holding extra configuration.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const ic = as<IngressClass>(o);
    const p = ic.spec?.parameters;
    const params = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name}` : '<none>';
    return { cells: [ic.metadata?.name ?? '', ic.spec?.controller ?? '', params, age(ic.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const networkPolicyPrinter: Printer = {
  columns: [NAME_COLUMN, col('Pod-Selector', 'string', 'Pods the policy applies to.'), AGE_COLUMN],
  row(o, ctx) {
    const np = as<NetworkPolicy>(o);
    // The pod selector is required, so a missing one is the empty selector: <none>, not "nothing".
    return { cells: [np.metadata?.name ?? '', selectorOrNone(np.spec?.podSelector ?? {}), age(np.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const endpointSlicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('AddressType', 'string', 'IPv4, IPv6 or FQDN.'),
    col('Ports', 'string', 'Ports of the endpoints.'),
    col('Endpoints', 'string', 'Endpoint addresses.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const es = as<EndpointSlice>(o);
    const ports = (es.ports ?? []).map((p) => (typeof p.port === 'number' ? String(p.port) : p.name ? p.name : '*'));
    const addrs = (es.endpoints ?? []).flatMap((e) => e.addresses ?? []);
    return { cells: [es.metadata?.name ?? '', es.addressType ?? '', listWithMore(ports), listWithMore(addrs), age(es.metadata?.creationTimestamp, ctx.now)] };
  },
};
