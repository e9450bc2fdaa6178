import { RESOURCES, groupVersion, type ResourceInfo } from '../api/resources.js';
import { METRICS_RESOURCES } from './streams/metrics.js';

// Discovery documents, legacy and aggregated (shared/kubectl-compat.md A2). They are derived from the
// resource table once and cached as strings: every cold kubectl asks for them.

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated version the client accepts, if any, from its Accept header. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('as') === 'APIGroupDiscoveryList' && params.get('g') === 'apidiscovery.k8s.io') {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1') return v;
    }
  }
  return undefined;
}

// Stored resources plus the metrics API, which kite serves itself (metrics-server's group elsewhere).
const SERVED: readonly ResourceInfo[] = [...RESOURCES, ...METRICS_RESOURCES];

function topLevel(group: string, version: string): ResourceInfo[] {
  return SERVED.filter((r) => r.group === group && r.version === version);
}

/** Group → versions in preference order, over everything served. */
function groupVersions(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const x of SERVED) {
    const vs = m.get(x.group) ?? [];
    if (!vs.includes(x.version)) vs.push(x.version);
    m.set(x.group, vs);
  }
  return m;
}

function aggregatedResource(r: ResourceInfo) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    ...(r.categories ? { categories: r.categories } : {}),
    ...(r.subresources
      ? {
          subresources: r.subresources.map((s) => ({
            subresource: s.name,
            responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

function aggregatedGroup(group: string, versions: string[]) {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: versions.map((v) => ({ version: v, resources: topLevel(group, v).map(aggregatedResource), freshness: 'Current' })),
  };
}

const cache = new Map<string, string>();
function cached(key: string, make: () => unknown): string {
  let s = cache.get(key);
  if (s === undefined) {
    s = JSON.stringify(make());
    cache.set(key, s);
  }
  return s;
}

export function aggregatedDiscovery(prefix: 'api' | 'apis', v: 'v2' | 'v2beta1'): string {
  return cached(`agg:${prefix}:${v}`, () => {
    const gvs = groupVersions();
    const items = prefix === 'api' ? [aggregatedGroup('', gvs.get('') ?? [])] : [...gvs.entries()].filter(([g]) => g !== '').map(([g, vs]) => aggregatedGroup(g, vs));
    return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${v}`, metadata: {}, items };
  });
}

export function legacyApiVersions(serverAddress: string): string {
  return JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
}

function apiGroup(group: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: groupVersion(group, v), version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function legacyGroupList(): string {
  return cached('groups', () => ({
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupVersions().entries()].filter(([g]) => g !== '').map(([g, vs]) => apiGroup(g, vs)),
  }));
}

export function legacyGroup(group: string): string | undefined {
  const vs = groupVersions().get(group);
  if (!vs || group === '') return undefined;
  return cached(`group:${group}`, () => ({ kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, vs) }));
}

export function resourceList(group: string, version: string): string | undefined {
  const rs = topLevel(group, version);
  if (!rs.length) return undefined;
  return cached(`rl:${group}/${version}`, () => {
    const resources: unknown[] = [];
    for (const r of rs) {
      resources.push({
        name: r.resource,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
        ...(r.categories ? { categories: r.categories } : {}),
        storageVersionHash: Buffer.from(`${r.group}/${r.version}/${r.kind}`).toString('base64').slice(0, 11),
      });
      for (const s of r.subresources ?? []) {
        resources.push({
          name: `${r.resource}/${s.name}`,
          singularName: '',
          namespaced: r.namespaced,
          ...(s.group !== undefined ? { group: s.group, version: s.version } : {}),
          kind: s.kind,
          verbs: s.verbs,
        });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
  });
}
