import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../../api/object.js';
import {
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  canonical,
  findPort,
  isIPv6,
  isPodReady,
  isServiceIPSet,
  podIPs,
  podTargetRef,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpointutil.js';

// How the EndpointSlice controller turns a service and its pods into slices: endpoints grouped by the ports
// they resolve to, at most 100 per slice, changing as few existing slices as it can (updates fill slices
// already being written, new endpoints go into one slice with room, or new slices), reusing slices it would
// delete instead of creating new ones, and keeping one empty placeholder slice when nothing backs the service.

export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;
const LABEL_ZONE = 'topology.kubernetes.io/zone';

export interface SliceInput {
  service: Service;
  pods: Pod[];
  /** The slices this controller manages for the service (label kubernetes.io/service-name), not being deleted. */
  existing: EndpointSlice[];
  node(name: string): KubeObject | undefined;
  triggerTime?: string;
  maxEndpointsPerSlice?: number;
}

export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Nodes that pods name but that do not exist (yet): those pods were left out. */
  missingNodes: string[];
}

/** The address types a service's slices carry, from its IP families (headless without families: both). */
export function addressTypes(svc: Service): string[] {
  const fams = svc.spec?.ipFamilies ?? [];
  const out = new Set<string>();
  for (const f of fams) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size) return [...out];
  if (isServiceIPSet(svc)) return [isIPv6(svc.spec!.clusterIP!) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** Labels of a service's slices: the service's own (minus the reserved keys) plus ours. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) {
    if (k !== LABEL_SERVICE_NAME && k !== LABEL_MANAGED_BY && k !== LABEL_HEADLESS) labels[k] = v;
  }
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata?.name ?? '';
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER;
  return labels;
}

function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function portsKey(ports: EndpointPort[] | undefined): string {
  return (ports ?? []).map((p) => canonical({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol })).sort().join(',');
}

function podToEndpoint(pod: Pod, node: KubeObject | undefined, svc: Service, addressType: string): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  // A terminating pod is never "ready" unless the service publishes not-ready addresses.
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6')),
    conditions: { ready, serving, terminating },
    targetRef: podTargetRef(pod),
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  return ep;
}

/** Identity of an endpoint across slices: its addresses, hostname and pod. */
function endpointKey(ep: Endpoint): string {
  return canonical({ a: [...ep.addresses].sort(), h: ep.hostname ?? '', ns: ep.targetRef?.namespace ?? '', n: ep.targetRef?.name ?? '' });
}

function endpointValue(ep: Endpoint): string {
  return canonical(ep.targetRef?.resourceVersion ? { ...ep, targetRef: { ...ep.targetRef, resourceVersion: undefined } } : ep);
}

function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return !!slice.metadata?.ownerReferences?.some((r) => r.uid === svc.metadata?.uid && r.kind === 'Service' && r.apiVersion === 'v1');
}

export function newSlice(svc: Service, addressType: string, ports: EndpointPort[], labels: Record<string, string>): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata?.name ?? ''}-`,
      namespace: svc.metadata?.namespace,
      labels: { ...labels },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** A copy of an existing slice to write back: server-managed fields dropped, the rest kept. */
function editable(slice: EndpointSlice): EndpointSlice {
  const copy = structuredClone(slice);
  if (copy.metadata) delete copy.metadata.managedFields;
  copy.endpoints = copy.endpoints ?? [];
  return copy;
}

interface Desired {
  ports: EndpointPort[];
  endpoints: Map<string, Endpoint>;
}

export function planSlices(input: SliceInput): SlicePlan {
  const svc = input.service;
  const max = input.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const labels = sliceLabels(svc);
  const types = addressTypes(svc);
  const plan: SlicePlan = { create: [], update: [], delete: [], missingNodes: [] };
  const missing = new Set<string>();

  const byType = new Map<string, EndpointSlice[]>(types.map((t) => [t, []]));
  for (const s of input.existing) {
    const list = byType.get(s.addressType);
    if (list) list.push(s);
    else plan.delete.push(s);
  }

  for (const type of types) {
    const desired = new Map<string, Desired>();
    for (const pod of input.pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const nodeName = pod.spec?.nodeName ?? '';
      const node = nodeName ? input.node(nodeName) : undefined;
      // A pod on a node nobody knows is left out (and the service looked at again when the node appears),
      // unless the service publishes every address regardless.
      if (!node && !svc.spec?.publishNotReadyAddresses) {
        if (nodeName) missing.add(nodeName);
        continue;
      }
      const ep = podToEndpoint(pod, node, svc, type);
      if (ep.addresses.length === 0) continue;
      const ports = endpointPorts(svc, pod);
      const key = portsKey(ports);
      let d = desired.get(key);
      if (!d) desired.set(key, (d = { ports, endpoints: new Map() }));
      d.endpoints.set(endpointKey(ep), ep);
    }
    planAddressType(svc, type, labels, desired, byType.get(type)!, max, plan);
  }

  const stamp = (s: EndpointSlice) => {
    const meta = (s.metadata ??= {});
    const annotations = { ...(meta.annotations ?? {}) };
    if (input.triggerTime) annotations[ANNOTATION_TRIGGER_TIME] = input.triggerTime;
    else delete annotations[ANNOTATION_TRIGGER_TIME];
    if (Object.keys(annotations).length) meta.annotations = annotations;
    else delete meta.annotations;
  };
  plan.create.forEach(stamp);
  plan.update.forEach(stamp);
  plan.missingNodes = [...missing];
  return plan;
}

function planAddressType(svc: Service, type: string, labels: Record<string, string>, desired: Map<string, Desired>, existing: EndpointSlice[], max: number, plan: SlicePlan): void {
  const toCreate: EndpointSlice[] = [];
  const toUpdate: EndpointSlice[] = [];
  const toDelete: EndpointSlice[] = [];
  const byPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (!ownedBy(s, svc)) {
      // Left over from an earlier service of the same name.
      toDelete.push(s);
      continue;
    }
    const k = portsKey(s.ports);
    if (!desired.has(k)) {
      toDelete.push(s);
      continue;
    }
    const list = byPorts.get(k) ?? [];
    list.push(s);
    byPorts.set(k, list);
  }

  for (const [key, want] of desired) {
    const remaining = new Map(want.endpoints);
    const unchanged: EndpointSlice[] = [];
    const updating: EndpointSlice[] = [];
    for (const slice of byPorts.get(key) ?? []) {
      const kept: Endpoint[] = [];
      let changed = false;
      for (const ep of slice.endpoints ?? []) {
        const k = endpointKey(ep);
        const w = remaining.get(k);
        if (!w) {
          changed = true;
          continue;
        }
        if (endpointValue(ep) !== endpointValue(w)) changed = true;
        kept.push(w);
        remaining.delete(k);
      }
      const labelsChanged = canonical(slice.metadata?.labels ?? {}) !== canonical(labels);
      if (!changed && !labelsChanged) {
        unchanged.push(slice);
        continue;
      }
      if (kept.length === 0) {
        toDelete.push(slice);
        continue;
      }
      const copy = editable(slice);
      copy.endpoints = kept;
      copy.metadata!.labels = { ...labels };
      updating.push(copy);
    }
    const ordered = [...remaining.keys()].sort();
    const take = () => {
      const k = ordered.shift()!;
      const ep = remaining.get(k)!;
      remaining.delete(k);
      return ep;
    };
    // Slices being written anyway take new endpoints first, fullest first.
    updating.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of updating) while (remaining.size && s.endpoints.length < max) s.endpoints.push(take());
    // What is left goes into one unchanged slice with room for all of it, else into new slices.
    while (remaining.size) {
      let target: EndpointSlice | undefined;
      unchanged.sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
      const i = unchanged.findIndex((s) => (s.endpoints?.length ?? 0) + remaining.size <= max);
      if (i >= 0) {
        target = editable(unchanged.splice(i, 1)[0]!);
        updating.push(target);
      } else {
        target = newSlice(svc, type, want.ports, labels);
        toCreate.push(target);
      }
      while (remaining.size && target.endpoints.length < max) target.endpoints.push(take());
    }
    toUpdate.push(...updating);
  }

  // Nothing backs the service: keep (or make) one empty placeholder slice.
  if (existing.length === toDelete.length && toCreate.length === 0) {
    const placeholder = newSlice(svc, type, [], labels);
    const only = toDelete.length === 1 ? toDelete[0]! : undefined;
    if (only && ownedBy(only, svc) && !(only.endpoints ?? []).length && !(only.ports ?? []).length && canonical(only.metadata?.labels ?? {}) === canonical(labels)) toDelete.length = 0;
    else toCreate.push(placeholder);
  }

  // Rather than create one slice and delete another, rewrite the one that would go.
  for (let i = 0; i < toDelete.length && toCreate.length; ) {
    const victim = toDelete[i]!;
    if (victim.addressType === type && ownedBy(victim, svc)) {
      const made = toCreate.pop()!;
      const copy = editable(victim);
      copy.metadata!.labels = made.metadata!.labels;
      copy.metadata!.ownerReferences = made.metadata!.ownerReferences;
      copy.endpoints = made.endpoints;
      copy.ports = made.ports;
      toUpdate.push(copy);
      toDelete.splice(i, 1);
    } else {
      i++;
    }
  }
  plan.create.push(...toCreate);
  plan.update.push(...toUpdate);
  plan.delete.push(...toDelete);
}
