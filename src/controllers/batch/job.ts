import type { Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { matchesLabels, selectorFromLabelSelector, type MetaLabelSelector } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import { objectKey, type Informer } from '../../client/informer.js';
import { resource } from '../../client/rest.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { Expectations } from '../apps/expectations.js';
import {
  CONTROLLER_UID_INDEX,
  PODS,
  asObject,
  asPod,
  controllerRefOf,
  controllerUIDIndex,
  isPodActive,
  isPodReady,
  isPodTerminating,
  newControllerRef,
  podFromTemplate,
} from '../apps/podutil.js';
import { Requeuer } from '../apps/requeue.js';
import { realClock, rfc3339, type Clock } from './clock.js';
import {
  JOB_TRACKING_FINALIZER,
  MAX_POD_CREATE_DELETE_PER_SYNC,
  MAX_UNCOUNTED_PODS,
  MESSAGE_BACKOFF_LIMIT,
  MESSAGE_COMPLETIONS,
  MESSAGE_DEADLINE,
  REASON_BACKOFF_LIMIT,
  REASON_COMPLETIONS,
  REASON_DEADLINE,
  activePodsForRemoval,
  backoffRemaining,
  completionIndex,
  ensureCondition,
  findCondition,
  firstPendingIndexes,
  formatIndexes,
  hasTrackingFinalizer,
  indexedGenerateName,
  indexedTemplate,
  isIndexed,
  isJobFinished,
  isPodFailed,
  isSuspended,
  newCondition,
  nextBackoffRecord,
  pastActiveDeadline,
  pastBackoffLimitOnFailure,
  succeededIndexes,
  validIndex,
  type BackoffRecord,
} from './jobutil.js';

// The Job controller: runs pods until enough succeed (completions, parallelism, Indexed mode) or the Job
// fails (backoffLimit, activeDeadlineSeconds). Finished pods are counted through the job-tracking
// finalizer, as Kubernetes does: a finished pod is first listed in status.uncountedTerminatedPods, then
// its finalizer is removed, then it moves into the succeeded/failed counters, so no pod is ever counted
// twice or lost, even when pods are deleted right after they finish.

export const JOBS = resource('batch', 'v1', 'jobs');

function asJob(o: KubeObject): Job {
  return o as unknown as Job;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

interface SyncState {
  job: Job;
  key: string;
  pods: Pod[];
  activePods: Pod[];
  succeeded: number;
  failed: number;
  ready: number;
  terminating: number;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRmFinalizers: Set<string>;
  prevSucceededIndexes: Set<number>;
  succeededIndexes: Set<number>;
  finished: JobCondition | undefined;
  newBackoff: BackoffRecord;
}

export class JobController extends QueueController {
  readonly name = 'job';
  private readonly orphans = new WorkQueue();
  private readonly expectations: Expectations;
  /** Pod UIDs whose finalizer removal was requested but not yet seen, per Job key. */
  private readonly finalizerExpectations = new Map<string, Set<string>>();
  private readonly backoff = new Map<string, BackoffRecord>();
  private requeue!: Requeuer;
  private jobs!: Informer;
  private pods!: Informer;
  private recorder!: EventRecorder;

  constructor(private readonly clock: Clock = realClock) {
    super();
    this.expectations = new Expectations(() => clock.now());
  }

  override start(ctx: ControllerContext): void {
    super.start(ctx);
    void runWorkers(this.orphans, 1, (k) => this.syncOrphanPod(k), (k, e) => ctx.log(`job: orphan pod ${k}: ${errMessage(e)}`));
  }

  override stop(): void {
    super.stop();
    this.orphans.shutdown();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('job-controller');
    this.requeue = new Requeuer(this.queue);
    this.jobs = ctx.informers.for(JOBS);
    this.pods = ctx.informers.for(PODS);
    this.pods.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.jobs.addHandlers({
      add: (o) => this.enqueue(o),
      update: (o, n) => this.jobUpdated(asJob(o), asJob(n)),
      delete: (o) => {
        this.enqueue(o);
        this.cleanupPodFinalizers(asJob(o));
      },
    });
    this.pods.addHandlers({
      add: (p) => this.podAdded(asPod(p)),
      update: (o, n) => this.podUpdated(asPod(o), asPod(n)),
      delete: (p) => this.podDeleted(asPod(p), true),
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Event handlers.

  private jobKey(job: Job): string {
    return `${job.metadata?.namespace}/${job.metadata?.name}`;
  }

  private resolve(namespace: string | undefined, pod: Pod): Job | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'Job') return undefined;
    const o = this.jobs.get(`${namespace}/${ref.name}`);
    return o && o.metadata.uid === ref.uid ? asJob(o) : undefined;
  }

  private jobsSelecting(pod: Pod): Job[] {
    const out: Job[] = [];
    for (const o of this.jobs.byIndex('namespace', pod.metadata?.namespace ?? '')) {
      const j = asJob(o);
      try {
        if (matchesLabels(selectorFromLabelSelector(j.spec?.selector as MetaLabelSelector | undefined), pod.metadata?.labels)) out.push(j);
      } catch {
        // An invalid selector selects nothing.
      }
    }
    return out;
  }

  private jobUpdated(old: Job, cur: Job): void {
    const key = this.jobKey(cur);
    this.queue.add(key);
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const ads = cur.spec?.activeDeadlineSeconds;
    const start = cur.status?.startTime ? Date.parse(cur.status.startTime) : undefined;
    if (ads !== undefined && ads !== null && start !== undefined && old.spec?.activeDeadlineSeconds !== ads) {
      this.requeue.after(key, start + ads * 1000 - this.clock.now());
    }
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.podDeleted(pod, false);
      return;
    }
    if (controllerRefOf(pod)) {
      const job = this.resolve(pod.metadata?.namespace, pod);
      if (!job) return;
      const key = this.jobKey(job);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.orphans.add(objectKey(asObject(pod)));
    for (const j of this.jobsSelecting(pod)) this.queue.add(this.jobKey(j));
  }

  private podUpdated(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    if (cur.metadata?.deletionTimestamp) {
      this.podDeleted(cur, false);
      return;
    }
    const finalizerRemoved = !hasTrackingFinalizer(cur);
    const oldRef = controllerRefOf(old);
    const curRef = controllerRefOf(cur);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged && oldRef) {
      const job = this.resolve(old.metadata?.namespace, old);
      if (job) {
        if (finalizerRemoved) this.finalizerRemovalObserved(this.jobKey(job), cur.metadata?.uid ?? '');
        this.queue.add(this.jobKey(job));
      }
    }
    if (curRef) {
      const job = this.resolve(cur.metadata?.namespace, cur);
      if (!job) return;
      if (finalizerRemoved) this.finalizerRemovalObserved(this.jobKey(job), cur.metadata?.uid ?? '');
      this.queue.add(this.jobKey(job));
      return;
    }
    if (hasTrackingFinalizer(cur)) this.orphans.add(objectKey(asObject(cur)));
    if (refChanged || JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {})) {
      for (const j of this.jobsSelecting(cur)) this.queue.add(this.jobKey(j));
    }
  }

  private podDeleted(pod: Pod, final: boolean): void {
    const hasFinalizer = hasTrackingFinalizer(pod);
    if (!controllerRefOf(pod)) {
      if (hasFinalizer) this.orphans.add(objectKey(asObject(pod)));
      return;
    }
    const job = this.resolve(pod.metadata?.namespace, pod);
    if (!job || isJobFinished(job)) {
      if (hasFinalizer) this.orphans.add(objectKey(asObject(pod)));
      return;
    }
    const key = this.jobKey(job);
    this.expectations.deletionObserved(key);
    if (final || !hasFinalizer) this.finalizerRemovalObserved(key, pod.metadata?.uid ?? '');
    this.queue.add(key);
  }

  private finalizerRemovalObserved(key: string, uid: string): void {
    const s = this.finalizerExpectations.get(key);
    if (!s) return;
    s.delete(uid);
    if (s.size === 0) this.finalizerExpectations.delete(key);
  }

  /** Pods of a deleted or finished Job that still carry the finalizer: release them. */
  private cleanupPodFinalizers(job: Job): void {
    for (const o of this.pods.byIndex(CONTROLLER_UID_INDEX, job.metadata?.uid ?? '')) {
      if (hasTrackingFinalizer(asPod(o))) this.orphans.add(objectKey(o));
    }
  }

  /** Removes the tracking finalizer from a pod that no unfinished Job controls any more. */
  private async syncOrphanPod(key: string): Promise<void> {
    const o = this.pods.get(key);
    if (!o) return;
    const pod = asPod(o);
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolve(pod.metadata?.namespace, pod);
      if (job && !isJobFinished(job)) return;
    }
    if (!hasTrackingFinalizer(pod)) return;
    try {
      await this.removeFinalizer(pod);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private removeFinalizer(pod: Pod): Promise<KubeObject> {
    const patch = { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
    return this.ctx.client.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'strategic', patch);
  }

  // ---------------------------------------------------------------------------------------------------
  // Sync.

  /** The Job's pods: those it controls, plus orphans its selector matches (adopted with the finalizer). */
  private async podsForJob(job: Job): Promise<Pod[]> {
    const uid = job.metadata?.uid ?? '';
    const owned = this.pods.byIndex(CONTROLLER_UID_INDEX, uid).map(asPod);
    if (job.metadata?.deletionTimestamp) return owned;
    let sel;
    try {
      sel = selectorFromLabelSelector(job.spec?.selector as MetaLabelSelector | undefined);
    } catch {
      return owned;
    }
    const orphans = this.pods
      .byIndex('namespace', job.metadata?.namespace ?? '')
      .map(asPod)
      .filter((p) => !controllerRefOf(p) && !p.metadata?.deletionTimestamp && matchesLabels(sel, p.metadata?.labels));
    for (const p of orphans) {
      const patch = {
        metadata: {
          uid: p.metadata?.uid,
          ownerReferences: [newControllerRef(asObject(job), 'batch/v1', 'Job')],
          finalizers: [JOB_TRACKING_FINALIZER],
        },
      };
      try {
        owned.push(asPod(await this.ctx.client.patch(PODS, p.metadata?.namespace, p.metadata?.name ?? '', 'strategic', patch)));
      } catch (e) {
        if (!isNotFound(e) && !(e instanceof StatusError && e.code === 409)) throw e;
      }
    }
    return owned;
  }

  protected async reconcile(key: string): Promise<void> {
    const shared = this.jobs.get(key);
    if (!shared) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.delete(key);
      this.requeue.forget(key);
      return;
    }
    const job = structuredClone(asJob(shared));
    if (isJobFinished(job)) {
      this.backoff.delete(key);
      return;
    }
    const mode = job.spec?.completionMode ?? 'NonIndexed';
    if (mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(asObject(job), 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const now = this.clock.now();
    const status = (job.status ??= {});
    const uncounted = (status.uncountedTerminatedPods ??= {});
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const activePods = pods.filter(isPodActive);
    const st: SyncState = {
      job,
      key,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      ready: activePods.filter(isPodReady).length,
      terminating: pods.filter(isPodTerminating).length,
      uncountedSucceeded: new Set(uncounted.succeeded ?? []),
      uncountedFailed: new Set(uncounted.failed ?? []),
      expectedRmFinalizers: new Set(this.finalizerExpectations.get(key) ?? []),
      prevSucceededIndexes: new Set(),
      succeededIndexes: new Set(),
      finished: undefined,
      newBackoff: { failuresAfterLastSuccess: 0 },
    };
    let active = activePods.length;
    const { newSucceeded, newFailed } = this.newFinishedPods(st);
    st.succeeded = (status.succeeded ?? 0) + newSucceeded.length + st.uncountedSucceeded.size;
    st.failed = (status.failed ?? 0) + newFailed.length + st.uncountedFailed.size;
    let startTimeSet = false;
    if (!status.startTime && !isSuspended(job)) {
      status.startTime = rfc3339(now);
      startTimeSet = true;
    }
    st.newBackoff = nextBackoffRecord(this.backoff.get(key), newSucceeded, newFailed);

    st.finished = findCondition(job, 'SuccessCriteriaMet')?.status === 'True' ? findCondition(job, 'SuccessCriteriaMet') : undefined;
    if (!st.finished) {
      const ft = findCondition(job, 'FailureTarget');
      if (ft?.status === 'True') st.finished = newCondition('Failed', 'True', ft.reason ?? '', ft.message ?? '', now);
      else if (st.failed > (job.spec?.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods)) {
        st.finished = newCondition('FailureTarget', 'True', REASON_BACKOFF_LIMIT, MESSAGE_BACKOFF_LIMIT, now);
      } else if (pastActiveDeadline(job, now)) {
        st.finished = newCondition('FailureTarget', 'True', REASON_DEADLINE, MESSAGE_DEADLINE, now);
      } else if (job.spec?.activeDeadlineSeconds !== undefined && job.spec.activeDeadlineSeconds !== null && !isSuspended(job) && status.startTime) {
        this.requeue.after(key, Date.parse(status.startTime) + job.spec.activeDeadlineSeconds * 1000 - now);
      }
    }
    if (isIndexed(job)) {
      const ix = succeededIndexes(job, pods);
      st.prevSucceededIndexes = ix.prev;
      st.succeededIndexes = ix.all;
      st.succeeded = ix.all.size;
    }

    let suspendChanged = false;
    let manageErr: unknown;
    if (st.finished) {
      const { deleted, deletedReady, error } = await this.deletePods(job, st.activePods, false);
      if (deleted !== active || !satisfied) st.finished = undefined;
      active -= deleted;
      st.terminating += deleted;
      st.ready -= deletedReady;
      manageErr = error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        try {
          active = await this.manageJob(st, now);
        } catch (e) {
          manageErr = e;
          active = st.activePods.length;
        }
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete = completions === undefined || completions === null ? st.succeeded > 0 && active === 0 : st.succeeded >= completions && active === 0;
      if (complete) {
        st.finished = newCondition('SuccessCriteriaMet', 'True', REASON_COMPLETIONS, MESSAGE_COMPLETIONS, now);
      } else if (managed) {
        if (isSuspended(job)) {
          if (ensureCondition(job, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now)) {
            suspendChanged = true;
            this.recorder.event(asObject(job), 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (ensureCondition(job, 'Suspended', 'False', 'JobResumed', 'Job resumed', now)) {
          suspendChanged = true;
          this.recorder.event(asObject(job), 'Normal', 'Resumed', 'Job resumed');
          // ActiveDeadlineSeconds counts continuous activity: a resumed Job starts its clock again.
          status.startTime = rfc3339(now);
        }
      }
    }

    const needsUpdate =
      startTimeSet || suspendChanged || active !== (status.active ?? 0) || st.ready !== status.ready || st.terminating !== status.terminating;
    status.active = active;
    status.ready = st.ready;
    status.terminating = st.terminating;
    await this.trackStatus(st, needsUpdate);
    if (manageErr) throw manageErr;
  }

  private newFinishedPods(st: SyncState): { newSucceeded: Pod[]; newFailed: Pod[] } {
    const valid = (p: Pod, uncounted: Set<string>) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted.has(uid) || st.expectedRmFinalizers.has(uid)) return false;
      return !isIndexed(st.job) || validIndex(st.job, completionIndex(p));
    };
    return {
      newSucceeded: st.pods.filter((p) => valid(p, st.uncountedSucceeded) && p.status?.phase === 'Succeeded'),
      newFailed: st.pods.filter((p) => valid(p, st.uncountedFailed) && isPodFailed(p, st.job)),
    };
  }

  /** Create or delete pods so that the right number runs; returns the resulting active count. */
  private async manageJob(st: SyncState, now: number): Promise<number> {
    const { job, key } = st;
    let active = st.activePods.length;
    if (isSuspended(job)) {
      const rm = activePodsForRemoval(job, st.activePods, active);
      this.expectations.expectDeletions(key, rm.length);
      const r = await this.deletePods(job, rm, true);
      st.terminating += r.deleted;
      st.ready -= r.deletedReady;
      if (r.error) throw r.error;
      return active - r.deleted;
    }
    const parallelism = job.spec?.parallelism ?? 1;
    const completions = job.spec?.completions;
    let want: number;
    if (completions === undefined || completions === null) want = st.succeeded > 0 ? active : parallelism;
    else want = Math.max(0, Math.min(completions - st.succeeded, parallelism));

    const rm = activePodsForRemoval(job, st.activePods, Math.max(0, active - want)).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (rm.length > 0) {
      this.expectations.expectDeletions(key, rm.length);
      const r = await this.deletePods(job, rm, true);
      st.terminating += r.deleted;
      st.ready -= r.deletedReady;
      if (r.error) throw r.error;
      return active - r.deleted;
    }
    const terminating = job.spec?.podReplacementPolicy === 'Failed' || job.spec?.podFailurePolicy ? st.terminating : 0;
    let diff = want - terminating - active;
    if (diff <= 0) return active;
    const wait = backoffRemaining(st.newBackoff, now);
    if (wait > 0) {
      this.requeue.after(key, Math.max(wait, 1000));
      return active;
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: number[] = [];
    if (isIndexed(job)) {
      indexes = firstPendingIndexes(job, st.activePods, st.succeededIndexes, diff);
      diff = indexes.length;
    }
    if (diff <= 0) return active;
    this.expectations.expectCreations(key, diff);
    const template = structuredClone(job.spec?.template ?? {});
    const meta = (template.metadata ??= {});
    if (!meta.finalizers?.includes(JOB_TRACKING_FINALIZER)) meta.finalizers = [...(meta.finalizers ?? []), JOB_TRACKING_FINALIZER];
    const owner = newControllerRef(asObject(job), 'batch/v1', 'Job');
    const name = job.metadata?.name ?? '';
    active += diff;
    let firstError: unknown;
    // Slow start: batches of 1, 2, 4, ... so that a Job whose pods are all refused does not flood the API.
    for (let batch = Math.min(diff, 1); diff > 0; batch = Math.min(2 * batch, diff)) {
      const results = await Promise.all(
        Array.from({ length: batch }, async () => {
          const ix = indexes.shift();
          const t = ix === undefined ? template : indexedTemplate(template, name, ix);
          const pod = podFromTemplate(t, owner, ix === undefined ? `${name}-` : indexedGenerateName(name, ix));
          try {
            const created = await this.ctx.client.create(PODS, job.metadata?.namespace, asObject(pod));
            this.recorder.event(asObject(job), 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
            return true;
          } catch (e) {
            this.expectations.creationObserved(key);
            this.recorder.event(asObject(job), 'Warning', 'FailedCreate', `Error creating: ${errMessage(e)}`);
            firstError ??= e;
            return false;
          }
        }),
      );
      const failures = results.filter((ok) => !ok).length;
      active -= failures;
      diff -= batch;
      if (failures > 0 && diff > 0) {
        for (let i = 0; i < diff; i++) this.expectations.creationObserved(key);
        active -= diff;
        break;
      }
    }
    if (firstError) throw firstError;
    return active;
  }

  /**
   * Delete pods. With `dropFinalizer` (too many pods, suspension) the finalizer goes first so the pod is
   * not counted as failed; without it (the Job is ending) the pod is counted when it is gone.
   */
  private async deletePods(job: Job, pods: Pod[], dropFinalizer: boolean): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    const key = this.jobKey(job);
    await Promise.all(
      pods.map(async (p) => {
        const name = p.metadata?.name ?? '';
        try {
          if (dropFinalizer && hasTrackingFinalizer(p)) await this.removeFinalizer(p);
          await this.ctx.client.delete(PODS, p.metadata?.namespace, name);
          this.recorder.event(asObject(job), 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
          deleted++;
          if (isPodReady(p)) deletedReady++;
        } catch (e) {
          if (dropFinalizer) this.expectations.deletionObserved(key);
          if (isNotFound(e)) {
            deleted++;
            if (isPodReady(p)) deletedReady++;
            return;
          }
          this.recorder.event(asObject(job), 'Warning', 'FailedDelete', `Error deleting: ${errMessage(e)}`);
          error ??= e;
        }
      }),
    );
    return { deleted, deletedReady, error };
  }

  private async writeStatus(job: Job): Promise<Job> {
    return asJob(await this.ctx.client.updateStatus(JOBS, asObject(job)));
  }

  /**
   * Count finished pods through the finalizer protocol, then add the terminal condition once nothing is
   * left uncounted or terminating.
   */
  private async trackStatus(st: SyncState, needsFlushIn: boolean): Promise<void> {
    let needsFlush = needsFlushIn;
    let job = st.job;
    const indexed = isIndexed(job);
    const status = job.status!;
    const uncounted = status.uncountedTerminatedPods!;
    const withFinalizer = new Set<string>();
    for (const p of st.pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasTrackingFinalizer(p) && !st.expectedRmFinalizers.has(uid)) withFinalizer.add(uid);
    }
    if (moveCounted(status, withFinalizer)) needsFlush = true;
    const toRelease: Pod[] = [];
    const newIndexes: number[] = [];
    const pods = indexed ? [...st.pods].sort((a, b) => completionIndex(a) - completionIndex(b)) : st.pods;
    let reachedMax = false;
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || st.expectedRmFinalizers.has(uid)) continue;
      const failed = isPodFailed(p, job);
      const canRelease = !!job.metadata?.deletionTimestamp || !!st.finished || p.status?.phase === 'Succeeded' || failed;
      if (!canRelease) continue;
      toRelease.push(p);
      if (p.status?.phase === 'Succeeded' && !st.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndex(p);
          if (validIndex(job, ix) && !st.prevSucceededIndexes.has(ix)) {
            newIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!st.uncountedSucceeded.has(uid)) {
          (uncounted.succeeded ??= []).push(uid);
          needsFlush = true;
        }
      } else if (failed || (st.finished && st.finished.type !== 'SuccessCriteriaMet')) {
        // Once the Job is ending, every pod still running counts as failed.
        const ix = completionIndex(p);
        if (!st.uncountedFailed.has(uid) && (!indexed || validIndex(job, ix))) {
          (uncounted.failed ??= []).push(uid);
          needsFlush = true;
        }
      }
      if (newIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      const all = new Set([...st.succeededIndexes, ...newIndexes]);
      const s = formatIndexes(all);
      if (s !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = all.size;
      status.completedIndexes = s;
    }
    if (st.finished?.type === 'FailureTarget') {
      (status.conditions ??= []).push(st.finished);
      needsFlush = true;
      st.finished = newCondition('Failed', 'True', st.finished.reason ?? '', st.finished.message ?? '', this.clock.now());
    }
    if (st.finished?.type === 'SuccessCriteriaMet') {
      if (findCondition(job, 'SuccessCriteriaMet')?.status !== 'True') {
        (status.conditions ??= []).push(st.finished);
        needsFlush = true;
      }
      st.finished = newCondition('Complete', 'True', st.finished.reason ?? '', st.finished.message ?? '', this.clock.now());
    }

    // 1. Record the pods about to be released, so their outcome survives a crash.
    if (needsFlush) {
      job = await this.writeStatus(job);
      this.backoff.set(st.key, st.newBackoff);
      needsFlush = false;
    }
    // 2. Release them.
    let rmError: unknown;
    if (toRelease.length) {
      const exp = this.finalizerExpectations.get(st.key) ?? new Set<string>();
      for (const p of toRelease) exp.add(p.metadata?.uid ?? '');
      this.finalizerExpectations.set(st.key, exp);
      await Promise.all(
        toRelease.map(async (p) => {
          const uid = p.metadata?.uid ?? '';
          try {
            await this.removeFinalizer(p);
            withFinalizer.delete(uid);
          } catch (e) {
            this.finalizerRemovalObserved(st.key, uid);
            if (isNotFound(e)) withFinalizer.delete(uid);
            else rmError ??= e;
          }
        }),
      );
    }
    // 3. Move released pods into the counters.
    if (moveCounted(job.status!, withFinalizer)) needsFlush = true;
    if (rmError) {
      if (needsFlush) await this.writeStatus(job);
      throw rmError;
    }
    const finished = !reachedMax && this.enactFinished(job, st);
    if (finished) needsFlush = true;
    if (needsFlush) {
      job = await this.writeStatus(job);
      if (finished) this.recordFinished(job, st.finished!);
    }
  }

  private enactFinished(job: Job, st: SyncState): boolean {
    const cond = st.finished;
    if (!cond) return false;
    const u = job.status?.uncountedTerminatedPods;
    if ((u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0) > 0) return false;
    // Kubernetes 1.32 waits for the pods to be gone before the terminal condition.
    if (st.terminating > 0) return false;
    const now = this.clock.now();
    ensureCondition(job, cond.type, cond.status, cond.reason ?? '', cond.message ?? '', now);
    if (cond.type === 'Complete') job.status!.completionTime = rfc3339(now);
    return true;
  }

  private recordFinished(job: Job, cond: JobCondition): void {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions !== undefined && completions !== null && (job.status?.succeeded ?? 0) > completions) {
        this.recorder.event(asObject(job), 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      }
      this.recorder.event(asObject(job), 'Normal', 'Completed', 'Job completed');
    } else {
      this.recorder.event(asObject(job), 'Warning', cond.reason ?? 'Failed', cond.message ?? '');
    }
  }
}

/** Uncounted pods whose finalizer is gone move into the counters; returns whether anything moved. */
function moveCounted(status: NonNullable<Job['status']>, withFinalizer: Set<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  const keepS = (u.succeeded ?? []).filter((uid) => withFinalizer.has(uid));
  if (keepS.length !== (u.succeeded ?? []).length) {
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded!.length - keepS.length);
    changed = true;
  }
  const keepF = (u.failed ?? []).filter((uid) => withFinalizer.has(uid));
  if (keepF.length !== (u.failed ?? []).length) {
    status.failed = (status.failed ?? 0) + (u.failed!.length - keepF.length);
    changed = true;
  }
  if (keepS.length) u.succeeded = keepS;
  else delete u.succeeded;
  if (keepF.length) u.failed = keepF;
  else delete u.failed;
  return changed;
}
