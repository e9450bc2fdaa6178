import { isPlainObject } from '../../api/object.js';
import { semanticEqual } from '../../api/validation/json.js';
import { nowRfc3339, replicasOf, type Deployment, type DeploymentCondition, type DeploymentStatus, type IntOrString, type PodTemplateSpec, type ReplicaSet } from './types.js';

// The arithmetic of Deployment rollouts, free of I/O so it can be tested on its own: template hashes,
// surge and unavailability fenceposts, how far the new ReplicaSet may grow and the old ones shrink,
// proportional scaling, revisions and annotations, and the status and conditions derived from ReplicaSets.

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';

/** Annotations a Deployment never hands down to its ReplicaSets. */
const NOT_COPIED = new Set([LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO]);

/** Bound on the revision-history annotation, as kube-controller-manager's default. */
const MAX_REVISION_HISTORY_CHARS = 2000;

// Condition types, reasons and messages as the deployment controller writes them.
export const PROGRESSING = 'Progressing';
export const AVAILABLE = 'Available';
export const REPLICA_FAILURE = 'ReplicaFailure';
export const NEW_RS_CREATED = 'NewReplicaSetCreated';
export const FOUND_NEW_RS = 'FoundNewReplicaSet';
export const RS_UPDATED = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const TIMED_OUT = 'ProgressDeadlineExceeded';
export const PAUSED = 'DeploymentPaused';
export const RESUMED = 'DeploymentResumed';
export const FAILED_RS_CREATE = 'ReplicaSetCreateError';
export const MIN_AVAILABLE = 'MinimumReplicasAvailable';
export const MIN_UNAVAILABLE = 'MinimumReplicasUnavailable';

// --------------------------------------------------------------------------------------------------------
// Template hash.

/** Canonical JSON: keys sorted; null, empty maps and empty lists dropped (they mean "unset"). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(canonical) : undefined;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const c = canonical(v[k]);
      if (c !== undefined && c !== null) out[k] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Label-safe alphabet without vowels (no accidental words), as apimachinery's rand.SafeEncodeString. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** The pod-template-hash of a template: a stable FNV-1a hash of its canonical form and the collision count. */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(Buffer.from(JSON.stringify(canonical(template ?? {}) ?? {}), 'utf8'));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    h = fnv32a(b, h);
  }
  return safeEncode(String(h));
}

function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const c = structuredClone(t ?? {});
  if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH];
  return c;
}

/** Templates equal once the pod-template-hash label is ignored (semantic equality: unset == empty). */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return semanticEqual(withoutHash(a), withoutHash(b));
}

// --------------------------------------------------------------------------------------------------------
// Surge and unavailability.

/** An int or a percentage of `total`; percentages round up or down as asked. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    if (/^-?\d+$/.test(v)) return Number.parseInt(v, 10);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  const x = (Number.parseInt(m[1], 10) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** [maxSurge, maxUnavailable] for `desired` replicas: surge rounds up, unavailable down; never both 0. */
export function resolveFenceposts(surge: IntOrString | undefined, unavailable: IntOrString | undefined, desired: number): [number, number] {
  const s = scaledValue(surge, desired, true);
  let u = scaledValue(unavailable, desired, false);
  if (s === 0 && u === 0) u = 1;
  return [s, u];
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicasOf(d))[0];
}

export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return Math.min(resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicas)[1], replicas);
}

// --------------------------------------------------------------------------------------------------------
// ReplicaSet sets.

function created(rs: ReplicaSet): number {
  return Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
}

/** Oldest first; ties by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
}

/** Largest first; ties newest first (where scaling up adds replicas first). */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  const d = replicasOf(b) - replicasOf(a);
  return d !== 0 ? d : byCreation(b, a);
}

/** Largest first; ties oldest first (where scaling down removes replicas first). */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  const d = replicasOf(b) - replicasOf(a);
  return d !== 0 ? d : byCreation(a, b);
}

export function revisionOf(rs: { metadata: { annotations?: Record<string, string> } }): number {
  const v = rs.metadata.annotations?.[REVISION];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  return Number.parseInt(v, 10);
}

/** Lowest revision first; ties oldest first. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

export function maxRevision(sets: ReplicaSet[]): number {
  return sets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

export function activeSets(sets: Array<ReplicaSet | undefined>): ReplicaSet[] {
  return sets.filter((rs): rs is ReplicaSet => !!rs && replicasOf(rs) > 0);
}

export function specReplicas(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs ? replicasOf(rs) : 0), 0);
}

export function actualReplicas(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
}

export function readyReplicas(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
}

export function availableReplicas(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);
}

/**
 * Pods a set of ReplicaSets may have at once. Kubernetes counts spec.replicas only; kite also counts pods a
 * ReplicaSet still reports beyond its spec (its controller has not yet seen them terminate), so that the
 * surge bound holds for what is observable, not just for what was asked.
 */
export function podsUpperBound(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs ? Math.max(replicasOf(rs), rs.status?.replicas ?? 0) : 0), 0);
}

/** Available pods that will remain once each ReplicaSet reaches its spec (never more than it is scaled to). */
export function availableLowerBound(sets: Array<ReplicaSet | undefined>): number {
  return sets.reduce((n, rs) => n + (rs ? Math.min(replicasOf(rs), rs.status?.availableReplicas ?? 0) : 0), 0);
}

/** The ReplicaSet whose template is the Deployment's (the oldest, should several match). */
export function findNewReplicaSet(d: Deployment, sets: ReplicaSet[]): ReplicaSet | undefined {
  return [...sets].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** Every ReplicaSet but the new one. */
export function findOldReplicaSets(d: Deployment, sets: ReplicaSet[]): ReplicaSet[] {
  const n = findNewReplicaSet(d, sets);
  return sets.filter((rs) => rs !== n);
}

/** How many replicas the new ReplicaSet should have now. */
export function newRSNewReplicas(d: Deployment, all: Array<ReplicaSet | undefined>, newRS: ReplicaSet): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const maxTotal = replicas + maxSurge(d);
  const current = podsUpperBound(all);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, replicas - replicasOf(newRS));
  return replicasOf(newRS) + Math.max(0, up);
}

// --------------------------------------------------------------------------------------------------------
// Annotations.

/** Copy the Deployment's own annotations onto the ReplicaSet; true when something changed. */
export function copyAnnotationsToReplicaSet(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const ann = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (NOT_COPIED.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  return changed;
}

/** desired-replicas and max-replicas; true when they changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS] !== String(desired)) {
    ann[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS] !== String(max)) {
    ann[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = rs.metadata.annotations ?? {};
  return ann[DESIRED_REPLICAS] !== String(desired) || ann[MAX_REPLICAS] !== String(max);
}

/**
 * Annotations of the new ReplicaSet: the Deployment's own, the revision (raised to `newRevision`, the old
 * one appended to revision-history when an older ReplicaSet comes back), and, for a ReplicaSet being
 * created, the replica annotations. True when something changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  let changed = copyAnnotationsToReplicaSet(d, rs);
  const ann = (rs.metadata.annotations ??= {});
  const oldRevision = ann[REVISION];
  if (oldRevision !== undefined && !/^\d+$/.test(oldRevision)) return changed;
  const old = oldRevision === undefined ? 0 : Number.parseInt(oldRevision, 10);
  if (old < newRevision) {
    ann[REVISION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined && old > 0) {
      const history = ann[REVISION_HISTORY] ? ann[REVISION_HISTORY].split(',') : [];
      history.push(oldRevision);
      while (history.join(',').length > MAX_REVISION_HISTORY_CHARS && history.length > 1) history.shift();
      ann[REVISION_HISTORY] = history.join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Mirror the new ReplicaSet's revision on the Deployment; true when it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const ann = (d.metadata.annotations ??= {});
  if (ann[REVISION] === revision) return false;
  ann[REVISION] = revision;
  return true;
}

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  return v !== undefined && /^-?\d+$/.test(v) ? Number.parseInt(v, 10) : undefined;
}

/** The new ReplicaSet is at full size and fully available for the Deployment's current replicas. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const replicas = replicasOf(d);
  return replicasOf(rs) === replicas && intAnnotation(rs, DESIRED_REPLICAS) === replicas && (rs.status?.availableReplicas ?? 0) === replicas;
}

/** Some active ReplicaSet was sized for a different replica count: the user scaled the Deployment. */
export function isScalingEvent(d: Deployment, sets: Array<ReplicaSet | undefined>): boolean {
  for (const rs of activeSets(sets)) {
    const desired = intAnnotation(rs, DESIRED_REPLICAS);
    if (desired !== undefined && desired !== replicasOf(d)) return true;
  }
  return false;
}

// --------------------------------------------------------------------------------------------------------
// Proportional scaling.

/** Go's math.Round: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function fraction(rs: ReplicaSet, d: Deployment): number {
  const replicas = replicasOf(d);
  if (replicas === 0) return -replicasOf(rs);
  const deploymentReplicas = replicas + maxSurge(d);
  const annotated = intAnnotation(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return roundHalfAway((replicasOf(rs) * deploymentReplicas) / annotated) - replicasOf(rs);
}

export function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const f = fraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(f, allowed) : Math.max(f, allowed);
}

/**
 * New sizes when a Deployment is scaled in the middle of a rollout: the difference is spread over the
 * active ReplicaSets in proportion to their size, the rounding leftover going to the largest.
 */
export function proportionalSizes(d: Deployment, active: ReplicaSet[]): { sizes: Map<ReplicaSet, number>; operation: 'up' | 'down' | '' } {
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - specReplicas(active);
  const sets = [...active];
  let operation: 'up' | 'down' | '' = '';
  if (toAdd > 0) {
    sets.sort(bySizeNewer);
    operation = 'up';
  } else if (toAdd < 0) {
    sets.sort(bySizeOlder);
    operation = 'down';
  }
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of sets) {
    if (toAdd !== 0) {
      const p = proportion(rs, d, toAdd, added);
      sizes.set(rs, replicasOf(rs) + p);
      added += p;
    } else sizes.set(rs, replicasOf(rs));
  }
  if (sets.length && toAdd !== 0) sizes.set(sets[0], Math.max(0, sizes.get(sets[0])! + toAdd - added));
  return { sizes, operation };
}

// --------------------------------------------------------------------------------------------------------
// Status and conditions.

export function getCondition<T extends { type: string }>(status: { conditions?: T[] } | undefined, type: string): T | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string, now = Date.now()): DeploymentCondition {
  const t = nowRfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Set a condition; unchanged status and reason keep the old one, unchanged status keeps its transition time. */
export function setCondition(status: DeploymentStatus, c: DeploymentCondition): void {
  const cur = getCondition(status, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (!status.conditions.length) delete status.conditions;
}

export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== 2147483647;
}

/** Status derived from the ReplicaSets; zero counts are omitted, as the Go types' omitempty does. */
export function calculateStatus(all: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined, d: Deployment, now = Date.now()): DeploymentStatus {
  const available = availableReplicas(all);
  const unavailable = Math.max(0, specReplicas(all) - available);
  const s: DeploymentStatus = { observedGeneration: d.metadata.generation };
  const put = (k: 'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas' | 'unavailableReplicas', v: number) => {
    if (v) s[k] = v;
  };
  put('replicas', actualReplicas(all));
  put('updatedReplicas', actualReplicas([newRS]));
  put('readyReplicas', readyReplicas(all));
  put('availableReplicas', available);
  put('unavailableReplicas', unavailable);
  if (d.status?.collisionCount !== undefined) s.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) s.conditions = structuredClone(d.status.conditions);
  if (available >= replicasOf(d) - maxUnavailable(d)) setCondition(s, newCondition(AVAILABLE, 'True', MIN_AVAILABLE, 'Deployment has minimum availability.', now));
  else setCondition(s, newCondition(AVAILABLE, 'False', MIN_UNAVAILABLE, 'Deployment does not have minimum availability.', now));
  return s;
}

/** Every replica updated, present and available, and the current generation observed. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Something moved since the status `d` carries: more updated, fewer old, more ready or available pods. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** The Progressing condition has not been updated for longer than progressDeadlineSeconds. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, PROGRESSING);
  if (!c || c.reason === NEW_RS_AVAILABLE) return false;
  if (c.reason === TIMED_OUT) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  return Number.isFinite(from) && from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 < now;
}

/** Old ReplicaSets beyond revisionHistoryLimit that may go: scaled to zero, settled, not being deleted. */
export function replicaSetsToCleanUp(d: Deployment, oldSets: ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec.revisionHistoryLimit;
  if (limit === undefined || limit === null) return [];
  const alive = oldSets.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return [];
  return [...alive]
    .sort(byRevision)
    .slice(0, diff)
    .filter((rs) => (rs.status?.replicas ?? 0) === 0 && replicasOf(rs) === 0 && (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0));
}
