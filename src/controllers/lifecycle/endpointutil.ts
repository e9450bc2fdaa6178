import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { isPlainObject } from '../../api/object.js';
import { matchesLabels, sameLabels, selectorFromSet, type LabelSelector } from '../../api/selectors.js';
import type { Informer } from '../../client/informer.js';

// What the Endpoints and EndpointSlice controllers share: which pods back a service, on which port, with which
// address, and how to tell that a pod change matters to them.

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

export function asPod(o: KubeObject): Pod {
  return o as unknown as Pod;
}

export function asService(o: KubeObject): Service {
  return o as unknown as Service;
}

/** The selector of a service the controllers manage; undefined for selector-less and ExternalName services. */
export function managedSelector(svc: Service): Record<string, string> | undefined {
  if (svc.spec?.type === 'ExternalName') return undefined;
  const sel = svc.spec?.selector;
  // An empty selector does not survive storage in Kubernetes (it reads back as none), so it selects nothing.
  return sel && Object.keys(sel).length ? sel : undefined;
}

/** The service has a cluster IP (it is not headless). */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

export function isPodReady(pod: Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function podIPs(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

/** Finished pods and pods without an IP never back a service; terminating ones only when asked for. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (podIPs(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** The container port a service port targets in this pod: a number as is, a name looked up among the
 *  containers' (and restartable init containers') ports with the same protocol. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

export function podTargetRef(pod: Pod): { kind: string; namespace: string; name: string; uid: string } {
  return { kind: 'Pod', namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
}

/** JSON with sorted keys and no undefined members, to compare what we computed with what is stored. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function containerPorts(pod: Pod): string {
  let out = '';
  for (const c of pod.spec?.containers ?? []) out += c.ports?.length ? canonical(c.ports) : '[]';
  for (const c of pod.spec?.initContainers ?? []) out += c.ports?.length ? canonical(c.ports) : '[]';
  return out;
}

/** Whether the pod fields that decide its endpoints differ; a change elsewhere (most status writes) does not
 *  matter. The cheap facts are compared first: most pod updates change one of them or none. */
export function podEndpointsChanged(old: Pod, now: Pod): boolean {
  return (
    old.status?.phase !== now.status?.phase ||
    old.spec?.nodeName !== now.spec?.nodeName ||
    !old.metadata?.deletionTimestamp !== !now.metadata?.deletionTimestamp ||
    isPodReady(old) !== isPodReady(now) ||
    !sameStrings(podIPs(old), podIPs(now)) ||
    old.spec?.hostname !== now.spec?.hostname ||
    old.spec?.subdomain !== now.spec?.subdomain ||
    containerPorts(old) !== containerPorts(now)
  );
}

/**
 * Which services select a pod. Built on the services informer; selectors are parsed once per service
 * revision.
 */
export class ServiceMembership {
  private readonly parsed = new Map<string, { rv: string | undefined; sel: LabelSelector | undefined }>();

  constructor(private readonly services: Informer) {}

  private selectorOf(svc: KubeObject): LabelSelector | undefined {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const cached = this.parsed.get(key);
    if (cached && cached.rv === svc.metadata.resourceVersion) return cached.sel;
    const set = managedSelector(asService(svc));
    const sel = set ? selectorFromSet(set) : undefined;
    this.parsed.set(key, { rv: svc.metadata.resourceVersion, sel });
    return sel;
  }

  forget(svc: KubeObject): void {
    this.parsed.delete(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }

  /** Keys ("ns/name") of the services in the pod's namespace whose selector matches these labels. */
  servicesFor(namespace: string, labels: Record<string, string> | undefined): string[] {
    const out: string[] = [];
    for (const svc of this.services.byIndex('namespace', namespace)) {
      const sel = this.selectorOf(svc);
      if (sel && matchesLabels(sel, labels)) out.push(`${namespace}/${svc.metadata.name}`);
    }
    return out;
  }

  /** Services to look at after a pod event (old and new labels both count). */
  affectedBy(old: KubeObject | undefined, now: KubeObject | undefined): string[] {
    const pod = now ?? old!;
    const ns = pod.metadata.namespace ?? '';
    if (old && now) {
      // Most namespaces' pods back no service: then no pod update needs comparing.
      if (!this.services.hasIndexed('namespace', ns)) return [];
      const labelsChanged = !sameLabels(old.metadata.labels, now.metadata.labels);
      if (!labelsChanged && !podEndpointsChanged(asPod(old), asPod(now))) return [];
      const keys = new Set(this.servicesFor(ns, now.metadata.labels));
      if (labelsChanged) for (const k of this.servicesFor(ns, old.metadata.labels)) keys.add(k);
      return [...keys];
    }
    return this.servicesFor(ns, pod.metadata.labels);
  }
}

/**
 * endpoints.kubernetes.io/last-change-trigger-time: the earliest time of the pod or service changes not yet
 * written out (a pod's Ready transition, the service's creation).
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, string>; serviceTime: string }>();

  compute(key: string, svc: Service, pods: Pod[]): string | undefined {
    const prev = this.states.get(key);
    const next = { pods: new Map<string, string>(), serviceTime: prev?.serviceTime ?? '' };
    let earliest: string | undefined;
    const consider = (t: string | undefined) => {
      if (t && (!earliest || Date.parse(t) < Date.parse(earliest))) earliest = t;
    };
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      const t = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '';
      const state = `${t}|${isPodReady(pod)}`;
      next.pods.set(name, state);
      if (prev?.pods.get(name) !== state) consider(t);
    }
    const created = svc.metadata?.creationTimestamp ?? '';
    if (!prev || (created && Date.parse(created) > Date.parse(prev.serviceTime || '0'))) {
      consider(created);
      next.serviceTime = created;
    }
    this.states.set(key, next);
    return earliest;
  }

  forget(key: string): void {
    this.states.delete(key);
  }
}

const EXPECTATION_TTL_MS = 30_000;

/**
 * Our own writes not yet seen by the informer: a cache that still shows an older revision (or a deleted
 * object) is stale, and acting on it would duplicate or undo what was just written.
 */
export class WriteTracker {
  private readonly expected = new Map<string, Map<string, { rv: number; at: number }>>();

  /** Expect `id` (a uid or name) of `group` at revision `rv` or later; -1 for "deleted". */
  expect(group: string, id: string, rv: string | number): void {
    let g = this.expected.get(group);
    if (!g) this.expected.set(group, (g = new Map()));
    g.set(id, { rv: Number(rv), at: Date.now() });
  }

  /** True when the cached objects (`id` → resourceVersion) lag behind our writes. */
  stale(group: string, cached: Map<string, string | undefined>): boolean {
    const g = this.expected.get(group);
    if (!g) return false;
    const now = Date.now();
    let stale = false;
    for (const [id, e] of g) {
      const have = cached.get(id);
      const caughtUp = e.rv < 0 ? have === undefined : have !== undefined && Number(have) >= e.rv;
      // Expectations expire: someone else may have deleted the object before we ever saw it.
      if (caughtUp || now - e.at > EXPECTATION_TTL_MS) g.delete(id);
      else stale = true;
    }
    if (g.size === 0) this.expected.delete(group);
    return stale;
  }

  forget(group: string): void {
    this.expected.delete(group);
  }
}
