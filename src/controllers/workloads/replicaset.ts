import type { KubeObject } from '../../api/object.js';
import { clone } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { matchesLabels, selectorFromLabelSelector, selectorFromSet } from '../../api/selectors.js';
import { semanticEqual } from '../../api/validation/json.js';
import { resource } from '../../client/rest.js';
import { objectKey, splitKey, type Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { claimObjects } from './claim.js';
import { Expectations } from './expectations.js';
import { WrittenObjects, retryingConflicts } from './written.js';
import { isPodActive, isPodAvailable, isPodReady, podsToDelete } from './pods.js';
import { controllerRef, newControllerRef, nowRfc3339, replicasOf, type Pod, type ReplicaSet, type ReplicaSetCondition, type ReplicaSetStatus } from './types.js';

// kube-controller-manager's "replicaset" controller: keeps `spec.replicas` active pods for every ReplicaSet,
// creating them from the template in slow-start batches and deleting the least valuable first, adopts and
// releases pods by selector, and reports counts and the ReplicaFailure condition in status.

export const REPLICASETS = resource('apps', 'v1', 'replicasets');
export const PODS = resource('', 'v1', 'pods');

/** At most this many creations or deletions per sync, as kube-controller-manager's --concurrent burst. */
export const BURST_REPLICAS = 500;
export const SLOW_START_INITIAL_BATCH = 1;

/** Index of pods and replicasets by the UID of their controller. */
export const BY_CONTROLLER_UID = 'workloads/controller-uid';

export function controllerUidIndex(o: KubeObject): string[] {
  const r = controllerRef(o);
  return r ? [r.uid] : [];
}

/**
 * Run `fn` `count` times in batches of 1, 2, 4, ...; stop after the first batch with a failure, so a
 * quota or webhook that refuses every pod costs one request, not hundreds. Returns the successes.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
    remaining -= batch;
  }
  return { successes };
}

/** A pod for `rs` from its template: labels, annotations and finalizers copied, named by generateName. */
export function podFromTemplate(rs: ReplicaSet): KubeObject {
  const t = rs.spec.template ?? {};
  const meta = t.metadata ?? {};
  const name = rs.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      // kube-controller-manager falls back to the bare name when "<name>-" would not be a valid prefix.
      generateName: /^[a-z0-9]([-a-z0-9.]*)?-$/.test(`${name}-`) ? `${name}-` : name,
      namespace: rs.metadata.namespace,
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [newControllerRef(rs, 'apps/v1', 'ReplicaSet')],
    },
    spec: clone(t.spec ?? {}),
  };
}

/** Status counts of the claimed active pods, keeping conditions and reporting a failed create/delete. */
export function calculateReplicaSetStatus(rs: ReplicaSet, pods: Pod[], manageError: unknown, diff: number, now = Date.now()): ReplicaSetStatus {
  const templateLabels = selectorFromSet(rs.spec.template?.metadata?.labels);
  const minReady = rs.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (matchesLabels(templateLabels, p.metadata.labels)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
  }
  const status: ReplicaSetStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (rs.status?.observedGeneration !== undefined) status.observedGeneration = rs.status.observedGeneration;
  let conditions = (rs.status?.conditions ?? []).slice();
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageError !== undefined && manageError !== null && !failure) {
    const cond: ReplicaSetCondition = {
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: nowRfc3339(now),
      reason: diff < 0 ? 'FailedCreate' : 'FailedDelete',
      message: (manageError as Error).message ?? String(manageError),
    };
    conditions.push(cond);
  } else if ((manageError === undefined || manageError === null) && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  if (conditions.length) status.conditions = conditions;
  return status;
}

function statusUnchanged(rs: ReplicaSet, s: ReplicaSetStatus): boolean {
  const o = rs.status ?? { replicas: 0 };
  return (
    (o.replicas ?? 0) === s.replicas &&
    (o.fullyLabeledReplicas ?? 0) === (s.fullyLabeledReplicas ?? 0) &&
    (o.readyReplicas ?? 0) === (s.readyReplicas ?? 0) &&
    (o.availableReplicas ?? 0) === (s.availableReplicas ?? 0) &&
    (rs.metadata.generation ?? 0) === (o.observedGeneration ?? 0) &&
    semanticEqual(o.conditions, s.conditions)
  );
}

export class ReplicaSetController extends QueueController {
  readonly name = 'replicaset';
  readonly expectations = new Expectations();
  private readonly written = new WrittenObjects<ReplicaSet>();
  private rsInformer!: Informer;
  private podInformer!: Informer;
  private recorder!: EventRecorder;

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('replicaset-controller');
    this.rsInformer = ctx.informers.for(REPLICASETS);
    this.podInformer = ctx.informers.for(PODS);
    this.rsInformer.addIndexer(BY_CONTROLLER_UID, controllerUidIndex);
    this.podInformer.addIndexer(BY_CONTROLLER_UID, controllerUidIndex);
    this.rsInformer.addHandlers({
      add: (rs) => this.enqueue(rs),
      update: (_old, rs) => this.enqueue(rs),
      delete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.written.forget(objectKey(rs));
        this.enqueue(rs);
      },
    });
    this.podInformer.addHandlers({
      add: (p) => this.podAdded(p as Pod),
      update: (o, p) => this.podUpdated(o as Pod, p as Pod),
      delete: (p) => this.podDeleted(p as Pod),
    });
  }

  /** The ReplicaSet a controller reference points at, if it is one we know with that UID. */
  private resolve(p: Pod): ReplicaSet | undefined {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.rsInformer.get(`${p.metadata.namespace}/${ref.name}`);
    return rs && rs.metadata.uid === ref.uid ? (rs as ReplicaSet) : undefined;
  }

  /** ReplicaSets whose selector matches an orphan pod. */
  private matching(p: Pod): ReplicaSet[] {
    const out: ReplicaSet[] = [];
    for (const o of this.rsInformer.byIndex('namespace', p.metadata.namespace ?? '')) {
      const rs = o as ReplicaSet;
      try {
        const sel = selectorFromLabelSelector(rs.spec.selector);
        if (sel.requirements.length && matchesLabels(sel, p.metadata.labels)) out.push(rs);
      } catch {
        // An invalid selector matches nothing.
      }
    }
    return out;
  }

  private podAdded(p: Pod): void {
    if (p.metadata.deletionTimestamp) return this.podDeleted(p);
    if (controllerRef(p)) {
      const rs = this.resolve(p);
      if (!rs) return;
      this.expectations.creationObserved(objectKey(rs));
      this.enqueue(rs);
      return;
    }
    for (const rs of this.matching(p)) this.enqueue(rs);
  }

  private podUpdated(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelsChanged = !semanticEqual(old.metadata.labels, cur.metadata.labels);
    if (cur.metadata.deletionTimestamp) {
      // Seen as terminating: it no longer counts, so the deletion is observed now rather than at DELETED.
      this.podDeleted(cur);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = controllerRef(old);
    const curRef = controllerRef(cur);
    if (oldRef && (!curRef || curRef.uid !== oldRef.uid)) {
      const rs = this.resolve(old);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolve(cur);
      if (!rs) return;
      this.enqueue(rs);
      // A pod that just became ready becomes available minReadySeconds later: look again then.
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(objectKey(rs), minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || (oldRef && !curRef)) for (const rs of this.matching(cur)) this.enqueue(rs);
  }

  private podDeleted(p: Pod): void {
    const rs = this.resolve(p);
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, objectKey(p));
    this.enqueue(rs);
  }

  protected reconcile(key: string): Promise<void> {
    return retryingConflicts(this.queue, key, () => this.sync(key));
  }

  private async sync(key: string): Promise<void> {
    await Promise.all([this.rsInformer.waitForSync(), this.podInformer.waitForSync()]);
    const cached = this.written.newest(this.rsInformer.get(key) as ReplicaSet | undefined);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rs = withKind(cached);
    const needsSync = this.expectations.satisfied(key);
    let selector;
    try {
      selector = selectorFromLabelSelector(rs.spec.selector);
    } catch {
      return;
    }
    const { namespace } = splitKey(key);
    const active = (this.podInformer.byIndex('namespace', namespace ?? '') as Pod[]).filter(isPodActive);
    const pods = await claimObjects(active, {
      client: this.ctx.client,
      info: PODS,
      owner: rs,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'ReplicaSet',
      selector,
      canAdopt: async () => {
        const fresh = await this.ctx.client.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name!);
        if (fresh.metadata.uid !== rs.metadata.uid) throw new Error(`original ReplicaSet ${key} is gone: got uid ${fresh.metadata.uid}, wanted ${rs.metadata.uid}`);
        if (fresh.metadata.deletionTimestamp) throw new Error(`ReplicaSet ${key} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
    const diff = pods.length - replicasOf(rs);
    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (e) {
        manageError = e;
      }
    }
    const status = calculateReplicaSetStatus(rs, pods, manageError, diff);
    const updated = await this.updateStatus(rs, status);
    const minReady = rs.spec.minReadySeconds ?? 0;
    if (manageError === undefined && minReady > 0 && (updated.readyReplicas ?? 0) === replicasOf(rs) && (updated.availableReplicas ?? 0) !== replicasOf(rs)) {
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageError !== undefined) throw manageError;
  }

  private async manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<void> {
    const diff = pods.length - replicasOf(rs);
    if (diff < 0) {
      const want = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, want);
      const { successes, error } = await slowStartBatch(want, SLOW_START_INITIAL_BATCH, () => this.createPod(rs));
      // Pods never created will never be observed: stop waiting for them.
      for (let i = successes; i < want; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
      return;
    }
    if (diff > 0) {
      const want = Math.min(diff, BURST_REPLICAS);
      const victims = podsToDelete(pods, this.relatedPods(rs), want);
      this.expectations.expectDeletions(key, victims.map(objectKey));
      const results = await Promise.allSettled(victims.map((p) => this.deletePod(rs, p)));
      let error: unknown;
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          this.expectations.deletionObserved(key, objectKey(victims[i]));
          if (!(r.reason instanceof StatusError && r.reason.code === 404)) error ??= r.reason;
        }
      });
      if (error !== undefined) throw error;
    }
  }

  /** Pods of this ReplicaSet and of its siblings under the same controller (a Deployment's other ReplicaSets). */
  private relatedPods(rs: ReplicaSet): Pod[] {
    const owner = controllerRef(rs);
    const sets = owner ? this.rsInformer.byIndex(BY_CONTROLLER_UID, owner.uid) : [rs];
    const uids = new Set(sets.map((s) => s.metadata.uid ?? ''));
    uids.add(rs.metadata.uid ?? '');
    const out: Pod[] = [];
    for (const uid of uids) out.push(...(this.podInformer.byIndex(BY_CONTROLLER_UID, uid) as Pod[]));
    return out;
  }

  private async createPod(rs: ReplicaSet): Promise<void> {
    try {
      const pod = await this.ctx.client.create(PODS, rs.metadata.namespace, podFromTemplate(rs));
      this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
    } catch (e) {
      // A terminating namespace refuses every create; nothing to report or retry.
      if (e instanceof StatusError && e.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return;
      this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  private async deletePod(rs: ReplicaSet, p: Pod): Promise<void> {
    try {
      await this.ctx.client.delete(PODS, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
      this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Write status when it changed, retrying once against a fresh read as kube-controller-manager does. */
  private async updateStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<ReplicaSetStatus> {
    if (statusUnchanged(rs, status)) return status;
    let cur: ReplicaSet = rs;
    for (let attempt = 0; ; attempt++) {
      const next = clone(cur);
      next.status = { ...status, observedGeneration: cur.metadata.generation };
      try {
        const res = (await this.ctx.client.updateStatus(REPLICASETS, next)) as ReplicaSet;
        this.written.remember(res);
        return res.status ?? status;
      } catch (e) {
        if (attempt >= 1 || (e instanceof StatusError && e.code === 404)) throw e;
        cur = (await this.ctx.client.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name!)) as ReplicaSet;
      }
    }
  }
}

/** Informer objects may lack kind/apiVersion; events and owner references need them. */
function withKind(rs: ReplicaSet): ReplicaSet {
  return rs.kind ? rs : { ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' };
}
