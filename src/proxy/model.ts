import type { KubeObject } from '../api/object.js';

// What the proxier programs, distilled from Services, EndpointSlices and (for selector-less services that
// nobody mirrored into slices) v1 Endpoints: one entry per service port with the endpoints that may take
// new connections. Rendering works only on this model, so it is testable without an API server.

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
}

export interface ServicePortInfo {
  namespace: string;
  name: string;
  protocol: Protocol;
  port: number;
  clusterIP: string;
  nodePort?: number;
  /** spec.externalIPs and status.loadBalancer.ingress IPs: traffic to these follows externalTrafficPolicy. */
  externalIPs: string[];
  externalLocal: boolean;
  internalLocal: boolean;
  /** Seconds a client stays with its endpoint (sessionAffinity ClientIP); undefined for no affinity. */
  affinityTimeout?: number;
  /** Ready, not terminating (or, when none is, the serving terminating ones), de-duplicated and sorted by ip:port. */
  endpoints: ProxyEndpoint[];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const DEFAULT_AFFINITY_SECONDS = 10800;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIPv4(s: unknown): s is string {
  const m = typeof s === 'string' ? IPV4.exec(s) : null;
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

function protocolOf(p: unknown): Protocol | undefined {
  const v = typeof p === 'string' ? p.toLowerCase() : 'tcp';
  return v === 'tcp' || v === 'udp' || v === 'sctp' ? v : undefined;
}

interface SvcPortSpec {
  name?: string;
  protocol?: string;
  port?: number;
  nodePort?: number;
}

interface SvcSpec {
  type?: string;
  clusterIP?: string;
  selector?: Record<string, string>;
  ports?: SvcPortSpec[];
  externalIPs?: string[];
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  loadBalancerClass?: string;
}

interface SliceSpec {
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints?: Array<{ addresses?: string[]; nodeName?: string; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }>;
}

interface EndpointsSpec {
  subsets?: Array<{ addresses?: Array<{ ip?: string; nodeName?: string }>; ports?: Array<{ name?: string; port?: number; protocol?: string }> }>;
}

export function serviceSpec(svc: KubeObject): SvcSpec {
  return (svc.spec ?? {}) as SvcSpec;
}

/** True for services the proxier programs: they have a ClusterIP (not headless, not ExternalName). */
export function isProxied(svc: KubeObject): boolean {
  const spec = serviceSpec(svc);
  return spec.type !== 'ExternalName' && isIPv4(spec.clusterIP);
}

/** A LoadBalancer service this node's ServiceLB-style load balancer answers for (no other class claims it). */
export function isOurLoadBalancer(svc: KubeObject): boolean {
  const spec = serviceSpec(svc);
  return spec.type === 'LoadBalancer' && !spec.loadBalancerClass && isProxied(svc);
}

const samePortName = (a: string | undefined, b: string | undefined) => (a ?? '') === (b ?? '');

function endpointsFromSlices(slices: KubeObject[], portName: string | undefined, protocol: Protocol): ProxyEndpoint[] {
  const ready: ProxyEndpoint[] = [];
  const servingTerminating: ProxyEndpoint[] = [];
  for (const s of slices) {
    const slice = s as unknown as SliceSpec;
    if (slice.addressType !== 'IPv4') continue;
    const sp = slice.ports?.find((p) => samePortName(p.name, portName) && protocolOf(p.protocol) === protocol);
    if (!sp?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIPv4(ip)) continue;
      const c = ep.conditions ?? {};
      // As kube-proxy: unset ready/serving conditions mean true; terminating endpoints take no new connections...
      if (c.ready !== false && c.terminating !== true) ready.push({ ip, port: sp.port, nodeName: ep.nodeName });
      else if (c.terminating === true && c.serving !== false) servingTerminating.push({ ip, port: sp.port, nodeName: ep.nodeName });
    }
  }
  // ...unless none is ready: then the ones still serving (a pod in its preStop hook while its replacement
  // starts) take the traffic rather than a reject (KEP-1669, proxying terminating endpoints).
  return ready.length > 0 ? ready : servingTerminating;
}

function endpointsFromEndpoints(eps: KubeObject, portName: string | undefined, protocol: Protocol): ProxyEndpoint[] {
  const out: ProxyEndpoint[] = [];
  for (const subset of (eps as unknown as EndpointsSpec).subsets ?? []) {
    const sp = subset.ports?.find((p) => samePortName(p.name, portName) && protocolOf(p.protocol) === protocol);
    if (!sp?.port) continue;
    for (const a of subset.addresses ?? []) if (isIPv4(a.ip)) out.push({ ip: a.ip, port: sp.port, nodeName: a.nodeName });
  }
  return out;
}

function dedupeSorted(eps: ProxyEndpoint[]): ProxyEndpoint[] {
  const byKey = new Map<string, ProxyEndpoint>();
  for (const e of eps) if (!byKey.has(`${e.ip}:${e.port}`)) byKey.set(`${e.ip}:${e.port}`, e);
  return [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, e]) => e);
}

/**
 * The service ports of one service. `slices` are the EndpointSlices labelled with its name; `endpoints` is its
 * v1 Endpoints object, consulted only for a selector-less service that has no slices (kite has no
 * EndpointSlice mirroring controller, so manually written Endpoints would otherwise be invisible).
 */
export function servicePorts(svc: KubeObject, slices: KubeObject[], endpoints: KubeObject | undefined): ServicePortInfo[] {
  if (!isProxied(svc)) return [];
  const spec = serviceSpec(svc);
  const status = (svc.status ?? {}) as { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
  const external = [...(spec.externalIPs ?? [])];
  if (spec.type === 'LoadBalancer') for (const i of status.loadBalancer?.ingress ?? []) if (i.ip) external.push(i.ip);
  const externalIPs = [...new Set(external.filter(isIPv4))].sort();
  const useEndpoints = slices.length === 0 && !spec.selector && endpoints !== undefined;
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = protocolOf(p.protocol);
    if (!protocol || !p.port) continue;
    const eps = useEndpoints ? endpointsFromEndpoints(endpoints, p.name, protocol) : endpointsFromSlices(slices, p.name, protocol);
    out.push({
      namespace: svc.metadata.namespace ?? 'default',
      name: svc.metadata.name ?? '',
      protocol,
      port: p.port,
      clusterIP: spec.clusterIP!,
      nodePort: (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort ? p.nodePort : undefined,
      externalIPs,
      externalLocal: spec.externalTrafficPolicy === 'Local',
      internalLocal: spec.internalTrafficPolicy === 'Local',
      affinityTimeout: spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : undefined,
      endpoints: dedupeSorted(eps),
    });
  }
  return out;
}
