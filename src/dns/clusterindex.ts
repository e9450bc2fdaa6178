import { isIPv4, isIPv6 } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../api/object.js';
import { dashedIP } from './names.js';

// What cluster DNS knows about Services and their endpoints, kept in memory from informer events so that a
// query never costs an API call. Names are stored lower-cased: DNS comparisons are case-insensitive, and
// Kubernetes names are lower-case anyway. Every change bumps `generation`, which the server uses to drop
// answers it pre-encoded from an older view.

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface DnsPort {
  /** Lower-cased port name; unnamed ports ('') get no SRV record of their own. */
  name: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
}

export interface DnsService {
  namespace: string;
  name: string;
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  /** ClusterIPs, v4 and v6; empty for headless and ExternalName services. */
  clusterIPs: string[];
  /** Target of an ExternalName service, without a trailing dot. */
  externalName?: string;
  ports: DnsPort[];
}

export interface DnsEndpoint {
  /** The endpoint's `hostname`, or its dashed first address: the spec's system-assigned identifier. */
  hostname: string;
  addresses: string[];
  /** Ports come from the EndpointSlice: for a headless service they are the pods' target ports. */
  ports: DnsPort[];
}

interface SliceEntry {
  serviceKey: string;
  endpoints: DnsEndpoint[];
}

function protocolOf(p: string | undefined): DnsPort['protocol'] {
  const l = (p ?? 'TCP').toLowerCase();
  return l === 'udp' || l === 'sctp' ? l : 'tcp';
}

export function serviceFromObject(obj: KubeObject): DnsService | undefined {
  const svc = obj as unknown as Service;
  const namespace = svc.metadata?.namespace?.toLowerCase();
  const name = svc.metadata?.name?.toLowerCase();
  if (!namespace || !name) return undefined;
  const spec = svc.spec ?? {};
  const ports: DnsPort[] = (spec.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: protocolOf(p.protocol), port: p.port }));
  if (spec.type === 'ExternalName') {
    const target = (spec.externalName ?? '').replace(/\.$/, '').toLowerCase();
    return { namespace, name, kind: 'ExternalName', clusterIPs: [], externalName: target || undefined, ports };
  }
  const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => isIPv4(ip) || isIPv6(ip));
  const headless = spec.clusterIP === 'None' || ips.length === 0;
  return { namespace, name, kind: headless ? 'Headless' : 'ClusterIP', clusterIPs: headless ? [] : ips, ports };
}

function sliceFromObject(obj: KubeObject): SliceEntry | undefined {
  const slice = obj as unknown as EndpointSlice;
  const namespace = slice.metadata?.namespace?.toLowerCase();
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL]?.toLowerCase();
  if (!namespace || !service) return undefined;
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return undefined;
  const valid = slice.addressType === 'IPv4' ? isIPv4 : isIPv6;
  const ports: DnsPort[] = (slice.ports ?? []).filter((p) => typeof p.port === 'number').map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: protocolOf(p.protocol), port: p.port! }));
  const endpoints: DnsEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    // The API says a nil `ready` means ready; publishNotReadyAddresses is already folded in by the controller.
    if (ep.conditions?.ready === false) continue;
    const addresses = (ep.addresses ?? []).filter((a) => valid(a));
    if (addresses.length === 0) continue;
    const hostname = ep.hostname ? ep.hostname.toLowerCase() : dashedIP(addresses[0]!);
    endpoints.push({ hostname, addresses, ports });
  }
  return { serviceKey: `${namespace}/${service}`, endpoints };
}

export class ClusterIndex {
  private readonly services = new Map<string, DnsService>();
  private readonly slices = new Map<string, SliceEntry>();
  /** serviceKey → slice keys, so a service's endpoints are found without scanning every slice. */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** How many services each namespace has: `<ns>.svc.<zone>` exists while it has one. */
  private readonly namespaces = new Map<string, number>();
  private ptrs: Map<string, string[]> | undefined;
  generation = 0;

  constructor(private readonly zone: string) {}

  upsertService(obj: KubeObject): void {
    const key = objKey(obj);
    const old = this.services.get(key);
    const svc = serviceFromObject(obj);
    if (old) this.countNamespace(old.namespace, -1);
    if (svc) {
      this.services.set(key, svc);
      this.countNamespace(svc.namespace, 1);
    } else this.services.delete(key);
    this.changed();
  }

  deleteService(obj: KubeObject): void {
    const key = objKey(obj);
    const old = this.services.get(key);
    if (!old) return;
    this.services.delete(key);
    this.countNamespace(old.namespace, -1);
    this.changed();
  }

  upsertSlice(obj: KubeObject): void {
    const key = objKey(obj);
    this.removeSlice(key);
    const entry = sliceFromObject(obj);
    if (entry) {
      this.slices.set(key, entry);
      let set = this.slicesByService.get(entry.serviceKey);
      if (!set) this.slicesByService.set(entry.serviceKey, (set = new Set()));
      set.add(key);
    }
    this.changed();
  }

  deleteSlice(obj: KubeObject): void {
    if (this.removeSlice(objKey(obj))) this.changed();
  }

  service(namespace: string, name: string): DnsService | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  hasNamespace(namespace: string): boolean {
    return (this.namespaces.get(namespace) ?? 0) > 0;
  }

  /** Ready endpoints of a service across all its slices; an address listed twice counts once. */
  endpoints(namespace: string, name: string): DnsEndpoint[] {
    const keys = this.slicesByService.get(`${namespace}/${name}`);
    if (!keys) return [];
    const out: DnsEndpoint[] = [];
    const seen = new Set<string>();
    for (const k of keys) {
      for (const ep of this.slices.get(k)?.endpoints ?? []) {
        const id = `${ep.hostname}|${ep.addresses.join(',')}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(ep);
      }
    }
    return out;
  }

  /** Names an IP answers to in reverse lookups: services by ClusterIP, then ready endpoints. */
  namesForIP(ip: string): string[] {
    if (!this.ptrs) this.ptrs = this.buildPtrs();
    return this.ptrs.get(ip) ?? [];
  }

  private buildPtrs(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    const add = (ip: string, name: string) => {
      const l = m.get(ip);
      if (!l) m.set(ip, [name]);
      else if (!l.includes(name)) l.push(name);
    };
    for (const s of this.services.values()) for (const ip of s.clusterIPs) add(ip, `${s.name}.${s.namespace}.svc.${this.zone}`);
    for (const s of this.services.values()) {
      for (const ep of this.endpoints(s.namespace, s.name)) for (const ip of ep.addresses) add(ip, `${ep.hostname}.${s.name}.${s.namespace}.svc.${this.zone}`);
    }
    return m;
  }

  private removeSlice(key: string): boolean {
    const old = this.slices.get(key);
    if (!old) return false;
    this.slices.delete(key);
    const set = this.slicesByService.get(old.serviceKey);
    set?.delete(key);
    if (set?.size === 0) this.slicesByService.delete(old.serviceKey);
    return true;
  }

  private countNamespace(ns: string, delta: number): void {
    const n = (this.namespaces.get(ns) ?? 0) + delta;
    if (n > 0) this.namespaces.set(ns, n);
    else this.namespaces.delete(ns);
  }

  private changed(): void {
    this.generation++;
    this.ptrs = undefined;
  }
}

function objKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`.toLowerCase();
}
