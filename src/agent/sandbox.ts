import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { DnsConfig, PodSandboxConfig, PortMapping } from '../runtime/interface.js';
import { LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './meta.js';
import { podResources } from './resources.js';

// The pod sandbox a Pod asks for: hostname and FQDN, resolv.conf per dnsPolicy, host ports, namespaces.

export interface DnsSettings {
  clusterDns: string[];
  clusterDomain: string;
  /** The node's resolv.conf, for dnsPolicy Default (and host-network pods). */
  hostResolvConf?: string;
}

export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function hostDns(s: DnsSettings): DnsConfig {
  let text = s.hostResolvConf;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      text = '';
    }
  }
  return parseResolvConf(text);
}

/** resolv.conf for the pod: dnsPolicy ClusterFirst (default), ClusterFirstWithHostNet, Default or None, plus dnsConfig. */
export function podDns(pod: Pod, s: DnsSettings): DnsConfig {
  const ns = pod.metadata?.namespace ?? 'default';
  let policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  // A host-network pod with the default policy keeps the node's resolver, as the kubelet decides.
  if (policy === 'ClusterFirst' && pod.spec?.hostNetwork) policy = 'Default';
  let dns: DnsConfig;
  if (policy === 'None') dns = { servers: [], searches: [], options: [] };
  else if (policy === 'Default' || s.clusterDns.length === 0) dns = hostDns(s);
  else {
    const d = s.clusterDomain;
    dns = { servers: [...s.clusterDns], searches: [`${ns}.svc.${d}`, `svc.${d}`, d], options: ['ndots:5'] };
  }
  const cfg = pod.spec?.dnsConfig;
  if (cfg) {
    dns.servers.push(...(cfg.nameservers ?? []));
    for (const sd of cfg.searches ?? []) if (!dns.searches.includes(sd)) dns.searches.push(sd);
    const opts = new Map(dns.options.map((o) => [o.split(':')[0]!, o]));
    for (const o of cfg.options ?? []) opts.set(o.name ?? '', o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? ''));
    dns.options = [...opts.values()].filter(Boolean);
  }
  dns.servers = dns.servers.slice(0, 3);
  dns.searches = dns.searches.slice(0, 32);
  return dns;
}

/** The pod's hostname (spec.hostname or its name, cut to 63 characters) and FQDN with spec.subdomain. */
export function podHostname(pod: Pod, clusterDomain: string): { hostname: string; fqdn?: string } {
  if (pod.spec?.hostNetwork) return { hostname: osHostname() };
  let h = pod.spec?.hostname || pod.metadata?.name || 'pod';
  if (h.length > 63) h = h.slice(0, 63).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  return sub ? { hostname: h, fqdn: `${h}.${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${clusterDomain}` } : { hostname: h };
}

export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
    for (const p of c.ports ?? [])
      if (p.hostPort) out.push({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: (p.protocol as PortMapping['protocol'] | undefined) ?? 'TCP', ...(p.hostIP ? { hostIP: p.hostIP } : {}) });
  return out;
}

export function sandboxConfig(pod: Pod, attempt: number, dns: DnsSettings): PodSandboxConfig {
  const m = pod.metadata ?? {};
  const { hostname, fqdn } = podHostname(pod, dns.clusterDomain);
  const resources = podResources(pod);
  return {
    podUid: m.uid ?? '',
    name: m.name ?? '',
    namespace: m.namespace ?? 'default',
    attempt,
    hostname,
    ...(fqdn ? { hostnameFqdn: fqdn } : {}),
    dns: podDns(pod, dns),
    hostAliases: (pod.spec?.hostAliases ?? []).map((a) => ({ ip: a.ip ?? '', hostnames: a.hostnames ?? [] })),
    portMappings: portMappings(pod),
    hostNetwork: !!pod.spec?.hostNetwork,
    shareProcessNamespace: !!pod.spec?.shareProcessNamespace,
    labels: { ...(m.labels ?? {}), [LABEL_POD_UID]: m.uid ?? '', [LABEL_POD_NAME]: m.name ?? '', [LABEL_POD_NAMESPACE]: m.namespace ?? 'default' },
    annotations: { ...(m.annotations ?? {}) },
    ...(resources ? { resources } : {}),
  };
}
