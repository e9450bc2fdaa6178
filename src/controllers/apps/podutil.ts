import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { KubeObject, OwnerReference } from '../../api/object.js';
import { resource } from '../../client/rest.js';

// Pod facts every workload controller asks the same way: is it active, ready, available; who controls it;
// and the pod a template describes.

export const PODS = resource('', 'v1', 'pods');

/** The pods informer index that maps a controller's UID to the pods it controls. */
export const CONTROLLER_UID_INDEX = 'workloads.kite/controller-uid';

export function asPod(o: KubeObject): Pod {
  return o as unknown as Pod;
}

export function asObject<T>(o: T): KubeObject {
  return o as unknown as KubeObject;
}

export function controllerRefOf(o: { metadata?: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function controllerUIDIndex(o: KubeObject): string[] {
  const ref = controllerRefOf(o);
  return ref ? [ref.uid] : [];
}

export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Neither finished nor being deleted: the pod still counts toward its controller's replicas. */
export function isPodActive(pod: Pod): boolean {
  return !isTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

export function isPodTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp && !isTerminal(pod);
}

export function podReadyCondition(pod: Pod): { status: string; lastTransitionTime?: string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/** Ready for at least minReadySeconds (a pod with no transition time counts from now). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(t) && t + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, or undefined if it is not ready or already available. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True' || minReadySeconds <= 0 || !c.lastTransitionTime) return undefined;
  const left = Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/**
 * Order in which pods should go first when a controller has too many: unassigned before assigned,
 * pending before unknown before running, not ready before ready, ready for less time first, more restarts
 * first, newer first.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const rank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const pa = rank[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = rank[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  if (ra === 1) {
    const ta = Date.parse(podReadyCondition(a)?.lastTransitionTime ?? '') || 0;
    const tb = Date.parse(podReadyCondition(b)?.lastTransitionTime ?? '') || 0;
    if (ta !== tb) return tb - ta;
  }
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const ca = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  return cb - ca;
}

/** A new pod as a controller creates it from its template: labels, annotations, finalizers and spec copied. */
export function podFromTemplate(template: PodTemplateSpec | undefined, owner: OwnerReference, generateName: string): Pod {
  const t = structuredClone(template ?? {});
  const meta = t.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [owner],
    },
    spec: t.spec ?? { containers: [] },
  };
  if (meta.annotations && Object.keys(meta.annotations).length) pod.metadata!.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) pod.metadata!.finalizers = [...meta.finalizers];
  return pod;
}

/** JSON with object keys sorted, so equal values always serialise (and hash) the same way. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// The alphabet Kubernetes uses for generated suffixes (no vowels, no confusable characters).
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A template hash in the form Kubernetes labels use (controller-revision-hash, pod-template-hash). */
export function computeHash(value: unknown, collisionCount?: number): string {
  const input = stableStringify(value) + (collisionCount ? `#${collisionCount}` : '');
  return String(fnv32a(input))
    .split('')
    .map((d) => SAFE[d.charCodeAt(0) % SAFE.length])
    .join('');
}
