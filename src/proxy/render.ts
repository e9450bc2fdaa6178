import type { ProxyEndpoint, ServicePortInfo } from './model.js';

// The desired nftables table for a set of service ports, in the structure of kube-proxy's nftables mode:
// verdict maps keyed by address . protocol . port dispatch to one chain per service port, which picks an
// endpoint chain with `numgen random`; filter chains that run before DNAT reject traffic to services that
// have no endpoints, and after DNAT reject whatever is left addressed to the service CIDR, so no packet to a
// service address ever leaves the node. Pure: same input, same output.

export interface ChainDef {
  /** Base chains only: "type nat hook prerouting priority dstnat; policy accept;" */
  hook?: string;
  rules: string[];
}

export interface SetDef {
  kind: 'set' | 'map';
  /** Everything inside the braces but the elements, e.g. "type ipv4_addr; flags dynamic,timeout; timeout 60s;" */
  decl: string;
  /** key → verdict ('' for sets). Undefined for sets the kernel fills (affinity): their contents are never touched. */
  elements?: Map<string, string>;
}

export interface Ruleset {
  chains: Map<string, ChainDef>;
  sets: Map<string, SetDef>;
}

export interface RenderConfig {
  nodeName: string;
  serviceCidr: string;
  /** Masquerade DNATed traffic that leaves through the bridge: needed only when br_netfilter is unavailable. */
  bridgeFallbackMasquerade?: string;
}

/** The fwmark bit that asks postrouting to masquerade (kube-proxy uses the same bit). */
export const MASQ_MARK = '0x4000';

const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const CLUSTER_IPS = 'cluster-ips';
const REJECT = 'goto reject-chain';

function baseRuleset(cfg: RenderConfig): Ruleset {
  const chains = new Map<string, ChainDef>([
    // Filters run at -110, before DNAT (-100): they see the service address of traffic nobody will translate.
    ['filter-input', { hook: 'type filter hook input priority -110; policy accept;', rules: ['ct state new jump nodeport-endpoints-check', 'ct state new jump service-endpoints-check'] }],
    ['filter-forward', { hook: 'type filter hook forward priority -110; policy accept;', rules: ['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check'] }],
    ['filter-output', { hook: 'type filter hook output priority -110; policy accept;', rules: ['ct state new jump service-endpoints-check', 'ct state new jump nodeport-endpoints-check'] }],
    ['filter-output-post-dnat', { hook: 'type filter hook output priority -90; policy accept;', rules: ['ct state new jump cluster-ips-check'] }],
    ['nat-prerouting', { hook: 'type nat hook prerouting priority dstnat; policy accept;', rules: ['jump services'] }],
    // nft 1.0.6 rejects "priority dstnat" on the output hook.
    ['nat-output', { hook: 'type nat hook output priority -100; policy accept;', rules: ['jump services'] }],
    ['nat-postrouting', { hook: 'type nat hook postrouting priority srcnat; policy accept;', rules: ['jump masquerading'] }],
    ['service-endpoints-check', { rules: [`ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`] }],
    ['nodeport-endpoints-check', { rules: [`fib daddr type local meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`] }],
    [
      'cluster-ips-check',
      {
        rules: [
          // A known ClusterIP on a port it does not serve, then any other address of the range: refused at once.
          `ip daddr @${CLUSTER_IPS} reject with icmp type port-unreachable`,
          `ip daddr ${cfg.serviceCidr} reject with icmp type host-unreachable`,
        ],
      },
    ],
    ['services', { rules: [`ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`, `fib daddr type local meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`] }],
    [
      'masquerading',
      {
        rules: [
          ...(cfg.bridgeFallbackMasquerade ? [`ct status dnat oifname "${cfg.bridgeFallbackMasquerade}" masquerade`] : []),
          `meta mark & ${MASQ_MARK} == 0 return`,
          `meta mark set meta mark ^ ${MASQ_MARK}`,
          'masquerade fully-random',
        ],
      },
    ],
    ['mark-for-masquerade', { rules: [`meta mark set meta mark | ${MASQ_MARK}`] }],
    ['reject-chain', { rules: ['reject with icmp type host-unreachable'] }],
  ]);
  const sets = new Map<string, SetDef>([
    [SERVICE_IPS, { kind: 'map', decl: 'type ipv4_addr . inet_proto . inet_service : verdict;', elements: new Map() }],
    [SERVICE_NODEPORTS, { kind: 'map', decl: 'type inet_proto . inet_service : verdict;', elements: new Map() }],
    [NO_ENDPOINT_SERVICES, { kind: 'map', decl: 'type ipv4_addr . inet_proto . inet_service : verdict;', elements: new Map() }],
    [NO_ENDPOINT_NODEPORTS, { kind: 'map', decl: 'type inet_proto . inet_service : verdict;', elements: new Map() }],
    [CLUSTER_IPS, { kind: 'set', decl: 'type ipv4_addr;', elements: new Map() }],
  ]);
  return { chains, sets };
}

// Names are made of DNS labels, a protocol, numbers and dots: all valid in nft identifiers, and unique without
// hashing because nft allows 256 characters.
const portId = (sp: ServicePortInfo) => `${sp.namespace}/${sp.name}/${sp.protocol}/${sp.port}`;

/** Rules that pick one of the endpoint ids, honouring ClientIP affinity first. */
function balanceRules(affinity: boolean, eids: string[]): string[] {
  const rules: string[] = [];
  if (affinity) for (const eid of eids) rules.push(`ip saddr @affinity-${eid} goto endpoint-${eid}`);
  // Endpoint i of n is taken with probability 1/(n-i) when the ones before it were not: 1/n each overall.
  // Not a `numgen random mod n vmap { … }`: each of those is an anonymous set, and the kernel finds sets
  // created in the same transaction by a linear search, which made loading 10,000 services quadratic.
  for (let i = 0; i < eids.length; i++) {
    const left = eids.length - i;
    rules.push(left === 1 ? `goto endpoint-${eids[i]}` : `numgen random mod ${left} == 0 goto endpoint-${eids[i]}`);
  }
  return rules;
}

export function renderRuleset(ports: ServicePortInfo[], cfg: RenderConfig): Ruleset {
  const rs = baseRuleset(cfg);
  const el = (name: string) => rs.sets.get(name)!.elements!;
  const serviceIps = el(SERVICE_IPS);
  const nodePorts = el(SERVICE_NODEPORTS);
  const noEpServices = el(NO_ENDPOINT_SERVICES);
  const noEpNodePorts = el(NO_ENDPOINT_NODEPORTS);
  const clusterIps = el(CLUSTER_IPS);

  // Sorted so that conflicting claims (two services on one external IP and port) resolve the same way every time.
  const ids = new Map<string, ServicePortInfo>();
  for (const sp of ports) ids.set(portId(sp), sp);
  const sorted = [...ids.keys()].sort().map((id) => [id, ids.get(id)!] as const);
  for (const [id, sp] of sorted) {
    const key = `${sp.protocol} . ${sp.port}`;
    const affinity = sp.affinityTimeout !== undefined;
    const eidOf = new Map<ProxyEndpoint, string>();
    for (const ep of sp.endpoints) eidOf.set(ep, `${id}__${ep.ip}/${ep.port}`);
    const local = sp.endpoints.filter((e) => e.nodeName === cfg.nodeName);
    const internal = sp.internalLocal ? local : sp.endpoints;
    const external = sp.externalLocal ? local : sp.endpoints;
    clusterIps.set(sp.clusterIP, '');

    if (internal.length > 0) {
      rs.chains.set(`service-${id}`, { rules: balanceRules(affinity, internal.map((e) => eidOf.get(e)!)) });
      serviceIps.set(`${sp.clusterIP} . ${key}`, `goto service-${id}`);
    } else {
      // kube-proxy drops, rather than rejects, when only the local side of a Local policy is empty.
      noEpServices.set(`${sp.clusterIP} . ${key}`, sp.internalLocal && sp.endpoints.length > 0 ? 'drop' : REJECT);
    }

    const hasExternal = sp.nodePort !== undefined || sp.externalIPs.length > 0;
    if (hasExternal && external.length > 0) {
      const balance = balanceRules(affinity, external.map((e) => eidOf.get(e)!));
      // Source IPs are preserved for Local; only node-local clients (127.0.0.1 above all) need masquerade.
      const rules = [sp.externalLocal ? 'fib saddr type local jump mark-for-masquerade' : 'jump mark-for-masquerade', ...balance];
      rs.chains.set(`external-${id}`, { rules });
      if (sp.nodePort !== undefined) nodePorts.set(`${sp.protocol} . ${sp.nodePort}`, `goto external-${id}`);
      for (const ip of sp.externalIPs) serviceIps.set(`${ip} . ${key}`, `goto external-${id}`);
    } else if (hasExternal) {
      const verdict = sp.externalLocal && sp.endpoints.length > 0 ? 'drop' : REJECT;
      if (sp.nodePort !== undefined) noEpNodePorts.set(`${sp.protocol} . ${sp.nodePort}`, verdict);
      for (const ip of sp.externalIPs) noEpServices.set(`${ip} . ${key}`, verdict);
    }

    const used = new Set<ProxyEndpoint>(internal);
    if (hasExternal) for (const ep of external) used.add(ep);
    for (const ep of used) {
      const eid = eidOf.get(ep)!;
      const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
      if (affinity) {
        rs.sets.set(`affinity-${eid}`, { kind: 'set', decl: `type ipv4_addr; flags dynamic,timeout; timeout ${sp.affinityTimeout}s;` });
        rules.push(`update @affinity-${eid} { ip saddr }`);
      }
      rules.push(`meta l4proto ${sp.protocol} dnat to ${ep.ip}:${ep.port}`);
      rs.chains.set(`endpoint-${eid}`, { rules });
    }
  }
  return rs;
}
