import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { matchesLabels, selectorFromLabelSelector, type MetaLabelSelector } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { resource } from '../../client/rest.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, asRevision, maxRevision, sameData, sortRevisions, templatePatch } from './history.js';
import { CONTROLLER_UID_INDEX, PODS, asObject, asPod, computeHash, controllerRefOf, controllerUIDIndex, isPodAvailable, isRunningAndReady, msUntilAvailable, newControllerRef, stableStringify } from './podutil.js';
import { Requeuer } from './requeue.js';
import { writeComputedStatus } from './statuswrite.js';
import {
  applyRevision,
  claimOwnerRefs,
  claimsFor,
  identityMatches,
  isFinished,
  isHealthy,
  isMemberOf,
  newVersionedPod,
  ordinalOf,
  podRevision,
  replicaStatus,
  startOrdinal,
  storageMatches,
  updateIdentity,
  updateStorage,
} from './statefulsetplan.js';

// The StatefulSet controller: pods with stable names <set>-<ordinal>, created in order and each only once
// its predecessor is Running and Ready (OrderedReady), or all at once (Parallel); removed from the highest
// ordinal down; per-ordinal PersistentVolumeClaims from volumeClaimTemplates that outlive their pods; and
// rolling updates from the highest ordinal down to the partition.

export const STATEFULSETS = resource('apps', 'v1', 'statefulsets');
export const PVCS = resource('', 'v1', 'persistentvolumeclaims');

function asSet(o: KubeObject): StatefulSet {
  return o as unknown as StatefulSet;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

function isAlreadyExists(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists';
}

/** A slot in the replica list: a pod that exists, or one to create. */
interface Slot {
  pod: Pod;
  exists: boolean;
}

export class StatefulSetController extends QueueController {
  readonly name = 'statefulset';
  private sets!: Informer;
  private pods!: Informer;
  private revisions!: Informer;
  private claims!: Informer;
  private recorder!: EventRecorder;
  private requeue!: Requeuer;

  override stop(): void {
    super.stop();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('statefulset-controller');
    this.requeue = new Requeuer(this.queue);
    this.sets = ctx.informers.for(STATEFULSETS);
    this.pods = ctx.informers.for(PODS);
    this.revisions = ctx.informers.for(CONTROLLER_REVISIONS);
    this.claims = ctx.informers.for(PVCS);
    this.pods.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.revisions.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.sets.addHandlers({ add: (o) => this.enqueue(o), update: (_o, n) => this.enqueue(n), delete: (o) => this.enqueue(o) });
    const owner = (o: KubeObject) => {
      const ref = controllerRefOf(o);
      if (ref?.kind !== 'StatefulSet') return undefined;
      const s = this.sets.get(`${o.metadata.namespace}/${ref.name}`);
      return s && s.metadata.uid === ref.uid ? s : undefined;
    };
    const wake = (o: KubeObject) => {
      const s = owner(o);
      if (s) this.enqueue(s);
      else if (!controllerRefOf(o) && o.kind !== 'ControllerRevision') this.enqueueSelecting(o);
    };
    this.pods.addHandlers({
      add: wake,
      update: (o, n) => {
        const a = owner(o);
        if (a) this.enqueue(a);
        wake(n);
      },
      delete: wake,
    });
    this.revisions.addHandlers({ add: wake, update: (_o, n) => wake(n), delete: wake });
  }

  private enqueueSelecting(o: KubeObject): void {
    for (const s of this.sets.byIndex('namespace', o.metadata.namespace ?? '')) {
      try {
        if (matchesLabels(selectorFromLabelSelector(asSet(s).spec?.selector as MetaLabelSelector | undefined), o.metadata.labels)) this.enqueue(s);
      } catch {
        // An invalid selector selects nothing.
      }
    }
  }

  private event(set: StatefulSet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event(asObject(set), type, reason, message);
  }

  protected async reconcile(key: string): Promise<void> {
    const o = this.sets.get(key);
    if (!o) {
      this.requeue.forget(key);
      return;
    }
    const set = structuredClone(asSet(o));
    if (set.metadata?.deletionTimestamp) return;
    const pods = await this.podsForSet(set);
    const revs = this.revisions.byIndex(CONTROLLER_UID_INDEX, set.metadata?.uid ?? '').map(asRevision);
    const { current, update, collisionCount } = await this.revisionsFor(set, revs);
    const status = await this.updateStatefulSet(set, key, current, update, collisionCount, pods);
    await this.writeStatus(set, status);
    await this.truncateHistory(set, pods, revs, current, update);
  }

  /** Pods the set controls, plus orphans its selector matches and whose names are its ordinals (adopted). */
  private async podsForSet(set: StatefulSet): Promise<Pod[]> {
    const pods = this.pods.byIndex(CONTROLLER_UID_INDEX, set.metadata?.uid ?? '').map(asPod);
    let sel;
    try {
      sel = selectorFromLabelSelector(set.spec?.selector as MetaLabelSelector | undefined);
    } catch {
      return pods;
    }
    for (const p of this.pods.byIndex('namespace', set.metadata?.namespace ?? '').map(asPod)) {
      if (controllerRefOf(p) || p.metadata?.deletionTimestamp || !matchesLabels(sel, p.metadata?.labels) || !isMemberOf(set, p)) continue;
      try {
        const patch = { metadata: { uid: p.metadata?.uid, ownerReferences: [newControllerRef(asObject(set), 'apps/v1', 'StatefulSet')] } };
        pods.push(asPod(await this.ctx.client.patch(PODS, p.metadata?.namespace, p.metadata?.name ?? '', 'strategic', patch)));
      } catch (e) {
        if (!(e instanceof StatusError && (e.code === 404 || e.code === 409 || e.code === 422))) throw e;
      }
    }
    return pods;
  }

  /** The current and update revisions, creating or renumbering the update revision as needed. */
  private async revisionsFor(set: StatefulSet, revsIn: ControllerRevision[]): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    const revs = sortRevisions(revsIn);
    const collisionCount = set.status?.collisionCount ?? 0;
    const data = templatePatch(set.spec?.template);
    const next = maxRevision(revs) + 1;
    const equal = revs.filter((r) => sameData(r.data, data));
    let update: ControllerRevision;
    if (equal.length && revs[revs.length - 1] === equal[equal.length - 1]) {
      update = equal[equal.length - 1]!;
    } else if (equal.length) {
      // Rolling back to an earlier template: that revision becomes the newest again.
      update = asRevision(await this.ctx.client.update(CONTROLLER_REVISIONS, asObject({ ...equal[equal.length - 1]!, revision: next })));
    } else {
      update = await this.createRevision(set, data, next, collisionCount);
    }
    const current = revs.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  private async createRevision(set: StatefulSet, data: unknown, revision: number, collisionCount: number): Promise<ControllerRevision> {
    const name = `${set.metadata?.name}-${computeHash(data, collisionCount)}`;
    const rev: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: set.metadata?.namespace,
        labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: name.slice((set.metadata?.name ?? '').length + 1) },
        ...(set.metadata?.annotations ? { annotations: { ...set.metadata.annotations } } : {}),
        ownerReferences: [newControllerRef(asObject(set), 'apps/v1', 'StatefulSet')],
      },
      data: data as ControllerRevision['data'],
      revision,
    };
    try {
      return asRevision(await this.ctx.client.create(CONTROLLER_REVISIONS, set.metadata?.namespace, asObject(rev)));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = asRevision(await this.ctx.client.get(CONTROLLER_REVISIONS, set.metadata?.namespace, name));
      if (sameData(existing.data, data) && controllerRefOf(asObject(existing))?.uid === set.metadata?.uid) return existing;
      const fresh = asSet(await this.ctx.client.get(STATEFULSETS, set.metadata?.namespace, set.metadata?.name ?? ''));
      fresh.status = { ...(fresh.status ?? { replicas: 0 }), collisionCount: collisionCount + 1 };
      await this.ctx.client.updateStatus(STATEFULSETS, asObject(fresh));
      throw new Error(`found a stale ControllerRevision ${name} with a hash collision for StatefulSet ${set.metadata?.name}`);
    }
  }

  private async updateStatefulSet(set: StatefulSet, key: string, current: ControllerRevision, update: ControllerRevision, collisionCount: number, pods: Pod[]): Promise<StatefulSetStatus> {
    const now = Date.now();
    const currentSet = applyRevision(set, current);
    const updateSet = applyRevision(set, update);
    const currentName = current.metadata?.name ?? '';
    const updateName = update.metadata?.name ?? '';
    const start = startOrdinal(set);
    const count = set.spec?.replicas ?? 1;
    const slots: Array<Slot | undefined> = new Array(count).fill(undefined);
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(p);
      if (!isMemberOf(set, p) || ord < 0) continue;
      if (ord >= start && ord < start + count) slots[ord - start] = { pod: p, exists: true };
      else condemned.push(p);
    }
    for (let i = 0; i < count; i++) {
      if (!slots[i]) slots[i] = { pod: newVersionedPod(currentSet, updateSet, currentName, updateName, start + i), exists: false };
    }
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
    const replicas = slots as Slot[];

    const status: StatefulSetStatus = {
      ...replicaStatus(set, pods, currentName, updateName, now),
      observedGeneration: set.metadata?.generation,
      currentRevision: currentName,
      updateRevision: updateName,
      collisionCount,
    };
    const finish = (): StatefulSetStatus => {
      const s = { ...status };
      // A finished rolling update makes the update revision current.
      if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
        s.currentReplicas = s.updatedReplicas;
        s.currentRevision = s.updateRevision;
      }
      if (!s.readyReplicas) delete s.readyReplicas;
      if (!s.currentReplicas) delete s.currentReplicas;
      if (!s.updatedReplicas) delete s.updatedReplicas;
      return s;
    };

    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const minReady = set.spec?.minReadySeconds ?? 0;
    const firstUnhealthy = [...replicas.filter((s) => s.exists).map((s) => s.pod), ...condemned].find((p) => !isHealthy(p));

    // Replicas in ordinal order: replace finished pods, create missing ones, keep identities intact.
    for (const slot of replicas) {
      const pod = slot.pod;
      if (slot.exists && isFinished(pod)) {
        if (!pod.metadata?.deletionTimestamp) await this.deletePod(set, pod);
        if (monotonic) return finish();
        continue;
      }
      if (!slot.exists) {
        await this.createPod(set, pod);
        status.replicas = (status.replicas ?? 0) + 1;
        if (pod.metadata?.labels?.[REVISION_HASH_LABEL] === currentName) status.currentReplicas = (status.currentReplicas ?? 0) + 1;
        if (pod.metadata?.labels?.[REVISION_HASH_LABEL] === updateName) status.updatedReplicas = (status.updatedReplicas ?? 0) + 1;
        if (monotonic) return finish();
        continue;
      }
      if (pod.status?.phase === 'Pending') await this.createMissingClaims(set, pod);
      if (pod.metadata?.deletionTimestamp) {
        if (monotonic) return finish();
        continue;
      }
      if (!isRunningAndReady(pod)) {
        if (monotonic) return finish();
        continue;
      }
      if (!isPodAvailable(pod, minReady, now)) {
        const left = msUntilAvailable(pod, minReady, now);
        if (left !== undefined) this.requeue.after(key, left + 50);
        if (monotonic) return finish();
        continue;
      }
      await this.ensureIdentity(set, pod);
    }

    // Condemned pods, highest ordinal first; in order mode one at a time and only once all else is healthy.
    for (const pod of condemned) {
      if (pod.metadata?.deletionTimestamp) {
        if (monotonic) return finish();
        continue;
      }
      if (monotonic && pod !== firstUnhealthy) {
        if (!isRunningAndReady(pod)) return finish();
        if (!isPodAvailable(pod, minReady, now)) {
          const left = msUntilAvailable(pod, minReady, now);
          if (left !== undefined) this.requeue.after(key, left + 50);
          return finish();
        }
      }
      await this.updateClaimOwners(set, pod);
      await this.deletePod(set, pod);
      if (monotonic) return finish();
    }

    if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'OnDelete') return finish();
    // Rolling update: replace the highest ordinal not on the update revision, down to the partition.
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let i = replicas.length - 1; i >= partition; i--) {
      const pod = replicas[i]!.pod;
      if (!replicas[i]!.exists) return finish();
      if (podRevision(pod) !== updateName && !pod.metadata?.deletionTimestamp) {
        await this.deletePod(set, pod);
        if (podRevision(pod) === currentName) status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
        return finish();
      }
      if (!isHealthy(pod)) return finish();
    }
    return finish();
  }

  private async createPod(set: StatefulSet, pod: Pod): Promise<void> {
    await this.createMissingClaims(set, pod);
    try {
      await this.ctx.client.create(PODS, set.metadata?.namespace, asObject(pod));
      this.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
    } catch (e) {
      // The cache has not seen a pod created moments ago; the next sync will.
      if (isAlreadyExists(e)) return;
      this.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errMessage(e)}`);
      throw e;
    }
  }

  private async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.ctx.client.delete(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', { preconditions: { uid: pod.metadata?.uid } });
      this.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
    } catch (e) {
      if (isNotFound(e) || (e instanceof StatusError && e.code === 409)) return;
      this.event(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errMessage(e)}`);
      throw e;
    }
  }

  private async createMissingClaims(set: StatefulSet, pod: Pod): Promise<void> {
    for (const claim of claimsFor(set, pod)) {
      const name = claim.metadata?.name ?? '';
      if (this.claims.get(`${set.metadata?.namespace}/${name}`)) continue;
      const refs = claimOwnerRefs(set, pod, claim);
      if (refs?.length) claim.metadata!.ownerReferences = refs;
      try {
        await this.ctx.client.create(PVCS, set.metadata?.namespace, asObject(claim));
        this.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${name} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} success`);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.event(set, 'Warning', 'FailedCreate', `create Claim ${name} for Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errMessage(e)}`);
        throw e;
      }
    }
  }

  /** Point the claims of a pod at the owners the retention policy asks for (the GC does the rest). */
  private async updateClaimOwners(set: StatefulSet, pod: Pod): Promise<void> {
    for (const want of claimsFor(set, pod)) {
      const o = this.claims.get(`${set.metadata?.namespace}/${want.metadata?.name}`);
      if (!o) continue;
      const refs = claimOwnerRefs(set, pod, o as unknown as PersistentVolumeClaim);
      if (!refs) continue;
      try {
        await this.ctx.client.patch(PVCS, set.metadata?.namespace, want.metadata?.name ?? '', 'merge', { metadata: { ownerReferences: refs, resourceVersion: o.metadata.resourceVersion } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** Repair a pod whose identity labels, hostname or claims drifted from the set's. */
  private async ensureIdentity(set: StatefulSet, pod: Pod): Promise<void> {
    const policyOk = this.claimRefsOk(set, pod);
    if (identityMatches(set, pod) && storageMatches(set, pod) && policyOk) return;
    if (!storageMatches(set, pod)) await this.createMissingClaims(set, pod);
    if (!policyOk) await this.updateClaimOwners(set, pod);
    if (identityMatches(set, pod) && storageMatches(set, pod)) return;
    const fixed = structuredClone(pod);
    updateIdentity(set, fixed);
    updateStorage(set, fixed);
    try {
      await this.ctx.client.update(PODS, asObject(fixed));
      this.event(set, 'Normal', 'SuccessfulUpdate', `update Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
    } catch (e) {
      if (isNotFound(e) || (e instanceof StatusError && e.code === 409)) return;
      this.event(set, 'Warning', 'FailedUpdate', `update Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errMessage(e)}`);
      throw e;
    }
  }

  private claimRefsOk(set: StatefulSet, pod: Pod): boolean {
    for (const want of claimsFor(set, pod)) {
      const o = this.claims.get(`${set.metadata?.namespace}/${want.metadata?.name}`);
      if (o && claimOwnerRefs(set, pod, o as unknown as PersistentVolumeClaim)) return false;
    }
    return true;
  }

  private async writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    if (stableStringify(status) === stableStringify(set.status ?? {})) return;
    await writeComputedStatus(this.ctx.client, STATEFULSETS, asObject(set), status);
  }

  /** Delete revisions no pod uses beyond revisionHistoryLimit, oldest first. */
  private async truncateHistory(set: StatefulSet, pods: Pod[], revs: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set([current.metadata?.name, update.metadata?.name, ...pods.map(podRevision)]);
    const history = sortRevisions(revs).filter((r) => !live.has(r.metadata?.name));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    for (const r of history.slice(0, Math.max(0, history.length - limit))) {
      await this.ctx.client.delete(CONTROLLER_REVISIONS, r.metadata?.namespace, r.metadata?.name ?? '').catch(() => undefined);
    }
  }
}
