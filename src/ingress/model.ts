import type { KubeObject } from '../api/object.js';
import { hostMatches, isRenderablePath, normalizePath, pathTypeOf, type PathType } from './paths.js';

// What the data plane must do, distilled from Ingresses, Services, EndpointSlices and TLS Secrets: one
// virtual server per host (plus the catch-all), its routes, the upstreams they point at and the
// certificates they present. Building it is pure, so the rules are testable without an API server or nginx;
// the same inputs always give the same model (sorted everywhere), so an unchanged cluster renders an
// unchanged configuration and causes no reload.

/** Where a request goes: an upstream (ready endpoints) or a fixed status (404 no route, 503 no endpoints). */
export type Target = { upstream: string } | { status: number };

export interface Route {
  path: string;
  type: PathType;
  target: Target;
  /** "namespace/name" of the Ingress that defined it. */
  source: string;
}

export interface VirtualServer {
  /** The Ingress host (`foo.example.com`, `*.example.com`), or '' for the catch-all server. */
  host: string;
  routes: Route[];
  /** Requests that match no route. */
  fallback: Target;
  /** Certificate id (see TlsCertificate) for HTTPS; undefined = the default certificate. */
  certificate?: string;
  /** TLS is configured for this host: plain HTTP is redirected to HTTPS (308). */
  sslRedirect: boolean;
}

export interface Upstream {
  name: string;
  /** "ip:port" ("[ip6]:port"), sorted, de-duplicated; never empty (a backend without endpoints is a 503). */
  servers: string[];
}

export interface TlsCertificate {
  /** Stable id, derived from the Secret and its content: "<namespace>_<name>-<hash>". */
  id: string;
  /** PEM chain followed by the PEM key. */
  pem: string;
}

export interface IngressModel {
  servers: VirtualServer[];
  upstreams: Upstream[];
  certificates: TlsCertificate[];
}

/** Looks up cluster state by "namespace/name" (the informers' caches). */
export interface ModelSource {
  ingresses: KubeObject[];
  service(key: string): KubeObject | undefined;
  /** EndpointSlices labelled with the service's name. */
  slices(serviceKey: string): KubeObject[];
  /** A validated certificate for a `kubernetes.io/tls` Secret, or a reason it cannot be used. */
  certificate(secretKey: string): TlsCertificate | { error: string };
}

export interface BuildResult {
  model: IngressModel;
  /** Problems a user should hear about (conflicts, missing secrets); deterministic, for logging once. */
  warnings: string[];
}

interface BackendSpec {
  service?: { name?: string; port?: { number?: number; name?: string } };
  resource?: unknown;
}

interface IngressSpec {
  defaultBackend?: BackendSpec;
  tls?: Array<{ hosts?: string[]; secretName?: string }>;
  rules?: Array<{ host?: string; http?: { paths?: Array<{ path?: string; pathType?: string; backend?: BackendSpec }> } }>;
}

interface ServiceSpec {
  type?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

interface SliceShape {
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }>;
}

const NOT_FOUND: Target = { status: 404 };
const UNAVAILABLE: Target = { status: 503 };

/** Oldest first, as ingress-nginx: when two Ingresses claim the same host and path, the older one wins. */
export function ingressOrder(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Ready, non-terminating endpoint addresses of one service port: the pods, not the ClusterIP, so that a
 *  pod leaving the slices leaves the upstream at the next sync, without waiting for the service proxy.
 *  When none is ready, the terminating ones that still serve (in their preStop hook while a replacement
 *  starts) take the requests rather than a 503, as the service proxy does (KEP-1669). */
export function endpointsOf(slices: KubeObject[], portName: string): string[] {
  const ready = new Set<string>();
  const servingTerminating = new Set<string>();
  for (const s of slices) {
    const slice = s as unknown as SliceShape;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const sp = slice.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP');
    if (!sp?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const c = ep.conditions ?? {};
      if (c.ready !== false && c.terminating !== true) ready.add(formatEndpoint(ip, sp.port));
      else if (c.terminating === true && c.serving !== false) servingTerminating.add(formatEndpoint(ip, sp.port));
    }
  }
  return [...(ready.size > 0 ? ready : servingTerminating)].sort();
}

class Builder {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly certificates = new Map<string, TlsCertificate>();
  private readonly warnings = new Set<string>();

  constructor(private readonly src: ModelSource) {}

  warn(m: string): void {
    this.warnings.add(m);
  }

  /** Resolve an Ingress backend to an upstream of endpoint addresses, or the status to answer with. */
  target(namespace: string, b: BackendSpec | undefined, where: string): Target {
    const svcRef = b?.service;
    if (!svcRef?.name) {
      if (b?.resource) this.warn(`${where}: resource backends are not supported by the kite ingress controller; answering 503`);
      return UNAVAILABLE;
    }
    const key = `${namespace}/${svcRef.name}`;
    const svc = this.src.service(key);
    if (!svc) {
      this.warn(`${where}: service ${key} not found; answering 503 until it exists`);
      return UNAVAILABLE;
    }
    const spec = (svc.spec ?? {}) as ServiceSpec;
    if (spec.type === 'ExternalName') {
      this.warn(`${where}: service ${key} is of type ExternalName, which the kite ingress controller does not proxy to; answering 503`);
      return UNAVAILABLE;
    }
    const want = svcRef.port ?? {};
    const port = (spec.ports ?? []).find((p) => (p.protocol ?? 'TCP') === 'TCP' && (want.name ? p.name === want.name : p.port === want.number));
    if (!port?.port) {
      this.warn(`${where}: service ${key} has no TCP port ${want.name ?? want.number}; answering 503`);
      return UNAVAILABLE;
    }
    const servers = endpointsOf(this.src.slices(key), port.name ?? '');
    if (servers.length === 0) return UNAVAILABLE;
    const name = `kite_${namespace}_${svcRef.name}_${port.port}`;
    this.upstreams.set(name, { name, servers });
    return { upstream: name };
  }

  /** The certificate id for a TLS section's Secret, or undefined for the default certificate. */
  certificate(namespace: string, secretName: string | undefined, where: string): string | undefined {
    if (!secretName) return undefined; // as ingress-nginx: a TLS section without a secret uses the default certificate
    const r = this.src.certificate(`${namespace}/${secretName}`);
    if ('error' in r) {
      this.warn(`${where}: ${r.error}; serving the default certificate`);
      return undefined;
    }
    this.certificates.set(r.id, r);
    return r.id;
  }

  result(servers: VirtualServer[]): BuildResult {
    const byName = (a: { name?: string; id?: string }, b: { name?: string; id?: string }) => ((a.name ?? a.id)! < (b.name ?? b.id)! ? -1 : 1);
    return {
      model: { servers, upstreams: [...this.upstreams.values()].sort(byName), certificates: [...this.certificates.values()].sort(byName) },
      warnings: [...this.warnings].sort(),
    };
  }
}

interface TlsChoice {
  certificate?: string;
  redirect: boolean;
}

export function buildModel(src: ModelSource): BuildResult {
  const b = new Builder(src);
  const ingresses = [...src.ingresses].sort(ingressOrder);
  const servers = new Map<string, VirtualServer>();
  const routeKeys = new Map<string, Set<string>>(); // host → "type path" already taken
  const tlsByHost: Array<{ host: string; choice: TlsChoice }> = [];
  let catchAll: Target | undefined;

  for (const ing of ingresses) {
    const ns = ing.metadata.namespace ?? 'default';
    const src = `${ns}/${ing.metadata.name}`;
    const spec = (ing.spec ?? {}) as IngressSpec;
    const ownDefault = spec.defaultBackend ? b.target(ns, spec.defaultBackend, `ingress ${src} defaultBackend`) : undefined;
    // The oldest Ingress with a defaultBackend answers requests for hosts nobody defined.
    if (ownDefault && !catchAll) catchAll = ownDefault;

    for (const t of spec.tls ?? []) {
      const certificate = b.certificate(ns, t.secretName, `ingress ${src} tls secret ${t.secretName ?? ''}`);
      const redirect = !sslRedirectDisabled(ing);
      for (const host of t.hosts?.length ? t.hosts : ['']) tlsByHost.push({ host, choice: { certificate, redirect } });
    }

    for (const rule of spec.rules ?? []) {
      const host = rule.host ?? '';
      let server = servers.get(host);
      if (!server) {
        // An Ingress's defaultBackend also answers unmatched paths on the hosts that Ingress defines.
        server = { host, routes: [], fallback: host === '' ? NOT_FOUND : (ownDefault ?? NOT_FOUND), sslRedirect: false };
        servers.set(host, server);
        routeKeys.set(host, new Set());
      } else if (host !== '' && ownDefault && server.fallback === NOT_FOUND) {
        server.fallback = ownDefault;
      }
      const taken = routeKeys.get(host)!;
      for (const p of rule.http?.paths ?? []) {
        const type = pathTypeOf(p.pathType);
        const path = normalizePath(p.path, type);
        const where = `ingress ${src} host ${JSON.stringify(host)} path ${JSON.stringify(p.path ?? '/')}`;
        if (!isRenderablePath(path)) {
          b.warn(`${where}: the path contains characters kite cannot route on (percent-encoding, quotes, braces, ';', '$', '\\', spaces); skipped`);
          continue;
        }
        const key = `${type} ${path}`;
        if (taken.has(key)) {
          const owner = server.routes.find((r) => r.type === type && r.path === path)?.source;
          if (owner !== src) b.warn(`${where}: already defined by ingress ${owner}, which is older; ignored`);
          continue;
        }
        taken.add(key);
        server.routes.push({ path, type, target: b.target(ns, p.backend, where), source: src });
      }
    }
  }

  // Requests for unknown hosts (and rules without a host) go to the catch-all server.
  let anyHost = servers.get('');
  if (!anyHost) {
    anyHost = { host: '', routes: [], fallback: NOT_FOUND, sslRedirect: false };
    servers.set('', anyHost);
  }
  anyHost.fallback = catchAll ?? NOT_FOUND;

  for (const server of servers.values()) {
    // TLS sections name hosts exactly or by wildcard; the oldest Ingress's section wins.
    const tls = tlsByHost.find((t) => t.host === server.host) ?? (server.host ? tlsByHost.find((t) => t.host && hostMatches(t.host, server.host)) : undefined);
    if (!tls) continue;
    server.certificate = tls.choice.certificate;
    server.sslRedirect = server.host !== '' && tls.choice.redirect;
  }

  for (const server of servers.values()) server.routes.sort(routeOrder);
  const sorted = [...servers.values()].sort((a, c) => (a.host < c.host ? -1 : a.host > c.host ? 1 : 0));
  return b.result(sorted);
}

function routeOrder(a: Route, b: Route): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

/** Apply a per-Ingress opt-out of the HTTPS redirect (`nginx.ingress.kubernetes.io/ssl-redirect: "false"`). */
export function sslRedirectDisabled(ing: KubeObject): boolean {
  const a = ing.metadata.annotations ?? {};
  return a['nginx.ingress.kubernetes.io/ssl-redirect'] === 'false' || a['ingress.kite.io/ssl-redirect'] === 'false';
}
