import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from '../../api/object.js';
import { REVISION_HASH_LABEL, templateOf } from './history.js';
import { isPodAvailable, isRunningAndReady, isTerminal, newControllerRef, podFromTemplate, asObject } from './podutil.js';

// A StatefulSet's stable identities: ordinal pod names, hostname and subdomain, per-ordinal claims, and
// the revision each ordinal should run. Pure functions; the controller does the API calls.

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata?.name}-${ordinal}`;
}

/** [parent name, ordinal] from `<parent>-<ordinal>`, ordinal -1 when the name has none. */
export function parseOrdinal(name: string | undefined): [string, number] {
  const m = /^(.*)-(0|[1-9][0-9]*)$/.exec(name ?? '');
  if (!m) return [name ?? '', -1];
  return [m[1]!, Number(m[2])];
}

export function ordinalOf(pod: Pod): number {
  return parseOrdinal(pod.metadata?.name)[1];
}

export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return parseOrdinal(pod.metadata?.name)[0] === set.metadata?.name;
}

export function inOrdinalRange(set: StatefulSet, ordinal: number): boolean {
  const start = startOrdinal(set);
  return ordinal >= start && ordinal < start + (set.spec?.replicas ?? 1);
}

export function claimName(set: StatefulSet, claimTemplate: string, ordinal: number): string {
  return `${claimTemplate}-${set.metadata?.name}-${ordinal}`;
}

export function podRevision(pod: Pod): string {
  return pod.metadata?.labels?.[REVISION_HASH_LABEL] ?? '';
}

export function isHealthy(pod: Pod): boolean {
  return isRunningAndReady(pod) && !pod.metadata?.deletionTimestamp;
}

/** The set with its template replaced by a revision's. */
export function applyRevision(set: StatefulSet, rev: ControllerRevision): StatefulSet {
  const s = structuredClone(set);
  s.spec!.template = templateOf(rev);
  return s;
}

/** Pod name, namespace and identity labels, hostname and subdomain. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const [parent, ord] = parseOrdinal(pod.metadata?.name);
  return (
    ord >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    pod.metadata?.labels?.[POD_NAME_LABEL] === pod.metadata?.name &&
    pod.metadata?.labels?.[POD_INDEX_LABEL] === String(ord)
  );
}

export function updateIdentity(set: StatefulSet, pod: Pod): void {
  const ord = ordinalOf(pod);
  const meta = (pod.metadata ??= {});
  meta.namespace = set.metadata?.namespace;
  meta.labels = { ...(meta.labels ?? {}), [POD_NAME_LABEL]: meta.name ?? '', [POD_INDEX_LABEL]: String(ord) };
  const spec = (pod.spec ??= { containers: [] });
  spec.hostname = meta.name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
}

/** Every claim template mounts its per-ordinal claim. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ord = ordinalOf(pod);
  if (ord < 0) return false;
  const vols = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const v = vols.get(t.metadata?.name ?? '');
    if (v?.persistentVolumeClaim?.claimName !== claimName(set, t.metadata?.name ?? '', ord)) return false;
  }
  return true;
}

/** Replace the template's volumes of claim-template names with the pod's own claims. */
export function updateStorage(set: StatefulSet, pod: Pod): void {
  const ord = ordinalOf(pod);
  const templates = set.spec?.volumeClaimTemplates ?? [];
  if (!templates.length) return;
  const spec = (pod.spec ??= { containers: [] });
  const claims = new Map<string, Volume>();
  for (const t of templates) {
    const name = t.metadata?.name ?? '';
    claims.set(name, { name, persistentVolumeClaim: { claimName: claimName(set, name, ord) } });
  }
  const vols: Volume[] = [...claims.values()];
  for (const v of spec.volumes ?? []) if (!claims.has(v.name)) vols.push(v);
  spec.volumes = vols;
}

/** The pod for an ordinal, from the given set (template), with identity and storage. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number, revision: string): Pod {
  const owner = newControllerRef(asObject(set), 'apps/v1', 'StatefulSet');
  const pod = podFromTemplate(set.spec?.template, owner, '');
  delete pod.metadata!.generateName;
  pod.metadata!.name = podName(set, ordinal);
  pod.metadata!.labels = { ...(pod.metadata!.labels ?? {}), [REVISION_HASH_LABEL]: revision };
  updateIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/**
 * Which revision a new pod for `ordinal` gets: ordinals below the partition (or below the current
 * replicas count without rolling-update parameters) stay on the current revision.
 */
export function newVersionedPod(currentSet: StatefulSet, updateSet: StatefulSet, currentRevision: string, updateRevision: string, ordinal: number): Pod {
  const us = currentSet.spec?.updateStrategy;
  const start = startOrdinal(currentSet);
  const rolling = (us?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const partition = us?.rollingUpdate?.partition;
  if (rolling && ((!us?.rollingUpdate && ordinal < start + (currentSet.status?.currentReplicas ?? 0)) || (us?.rollingUpdate && ordinal < start + (partition ?? 0)))) {
    return newStatefulSetPod(currentSet, ordinal, currentRevision);
  }
  return newStatefulSetPod(updateSet, ordinal, updateRevision);
}

/** The claims a pod needs: template labels plus the set's selector labels. */
export function claimsFor(set: StatefulSet, pod: Pod): PersistentVolumeClaim[] {
  const ord = ordinalOf(pod);
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const name = claimName(set, t.metadata?.name ?? '', ord);
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: set.metadata?.namespace, labels: { ...(t.metadata?.labels ?? {}), ...selectorLabels } },
      spec: structuredClone(t.spec ?? {}),
    };
    if (t.metadata?.annotations) claim.metadata!.annotations = { ...t.metadata.annotations };
    return claim;
  });
}

function hasOwner(refs: OwnerReference[], uid: string | undefined): boolean {
  return refs.some((r) => r.uid === uid);
}

/**
 * The owner references a claim should carry under persistentVolumeClaimRetentionPolicy: the set when
 * claims go with the set (whenDeleted: Delete), the pod when a scaled-down pod's claims go with it
 * (whenScaled: Delete). Returns the new list, or undefined when nothing changes.
 */
export function claimOwnerRefs(set: StatefulSet, pod: Pod, claim: PersistentVolumeClaim): OwnerReference[] | undefined {
  const policy = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  const whenDeleted = policy.whenDeleted ?? 'Retain';
  const whenScaled = policy.whenScaled ?? 'Retain';
  const scaledDown = !inOrdinalRange(set, ordinalOf(pod));
  const setRef: OwnerReference = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata?.name ?? '', uid: set.metadata?.uid ?? '' };
  const podRef: OwnerReference = { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  let wantSet = false;
  let wantPod = false;
  if (whenScaled === 'Delete' && scaledDown) wantPod = true;
  else if (whenDeleted === 'Delete') wantSet = true;
  const refs = [...((claim.metadata?.ownerReferences as OwnerReference[] | undefined) ?? [])];
  let out = refs.filter((r) => (r.uid !== set.metadata?.uid || wantSet) && (r.kind !== 'Pod' || r.name !== pod.metadata?.name || wantPod));
  if (wantSet && !hasOwner(out, setRef.uid)) out = [...out, setRef];
  if (wantPod && pod.metadata?.uid && !hasOwner(out, podRef.uid)) out = [...out, podRef];
  const key = (l: OwnerReference[]) => l.map((r) => r.uid).sort().join(',');
  return key(out) === key(refs) ? undefined : out;
}

/** Replica counters and revisions over the pods that exist. */
export function replicaStatus(set: StatefulSet, pods: Pod[], currentRevision: string, updateRevision: string, now: number): StatefulSetStatus {
  const minReady = set.spec?.minReadySeconds ?? 0;
  const st: StatefulSetStatus = { replicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0, readyReplicas: 0 };
  for (const p of pods) {
    st.replicas++;
    if (isRunningAndReady(p)) {
      st.readyReplicas!++;
      if (isPodAvailable(p, minReady, now)) st.availableReplicas!++;
    }
    if (!p.metadata?.deletionTimestamp) {
      const rev = podRevision(p);
      if (rev === currentRevision) st.currentReplicas!++;
      if (rev === updateRevision) st.updatedReplicas!++;
    }
  }
  return st;
}

export function isFinished(pod: Pod): boolean {
  return isTerminal(pod);
}
