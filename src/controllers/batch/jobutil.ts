import type { Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import type { Container, Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { compareForDeletion } from '../apps/podutil.js';
import { parseTime, rfc3339 } from './clock.js';

// The Job controller's pure rules: conditions, which pods count as failed, completion indexes, pod
// failure back-off, which pods go first. Kept apart from the API calls so they can be tested alone.

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;
/** Bounds the size of status.uncountedTerminatedPods and the work of one sync. */
export const MAX_UNCOUNTED_PODS = 500;
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;

export const REASON_BACKOFF_LIMIT = 'BackoffLimitExceeded';
export const MESSAGE_BACKOFF_LIMIT = 'Job has reached the specified backoff limit';
export const REASON_DEADLINE = 'DeadlineExceeded';
export const MESSAGE_DEADLINE = 'Job was active longer than specified deadline';
export const REASON_COMPLETIONS = 'CompletionsReached';
export const MESSAGE_COMPLETIONS = 'Reached expected number of succeeded pods';

export function findCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

function conditionTrue(job: Job, type: string): boolean {
  return findCondition(job, type)?.status === 'True';
}

export function isJobFinished(job: Job): boolean {
  return conditionTrue(job, 'Complete') || conditionTrue(job, 'Failed');
}

/** 'Complete' | 'Failed' once the Job has ended. */
export function finishedType(job: Job): 'Complete' | 'Failed' | undefined {
  if (conditionTrue(job, 'Complete')) return 'Complete';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  return undefined;
}

/** When the Job reached Complete or Failed (the condition's transition time). */
export function jobFinishTime(job: Job): number | undefined {
  const c = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return parseTime(c?.lastTransitionTime);
}

export function newCondition(type: string, status: string, reason: string, message: string, now: number): JobCondition {
  const t = rfc3339(now);
  return { type, status, lastProbeTime: t, lastTransitionTime: t, reason, message };
}

/**
 * Set a condition to the given status/reason/message, appending it when absent (unless it would be a
 * meaningless False). Returns whether the list changed.
 */
export function ensureCondition(job: Job, type: string, status: string, reason: string, message: string, now: number): boolean {
  const st = (job.status ??= {});
  const list = (st.conditions ??= []);
  const i = list.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = list[i]!;
    if (c.status === status && (c.reason ?? '') === reason && (c.message ?? '') === message) return false;
    list[i] = newCondition(type, status, reason, message, now);
    return true;
  }
  if (status === 'False') return false;
  list.push(newCondition(type, status, reason, message, now));
  return true;
}

export function isSuspended(job: Job): boolean {
  return job.spec?.suspend === true;
}

export function isIndexed(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}

/** A failed pod, or one deleted before it could finish (an orphan never reaches Failed on its own). */
export function isPodFailed(pod: Pod, job: Job): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata?.deletionTimestamp && phase !== 'Succeeded';
}

/** Container restarts of running pods exceed the back-off limit (restartPolicy OnFailure). */
export function pastBackoffLimitOnFailure(job: Job, pods: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += c.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

export function pastActiveDeadline(job: Job, now: number): boolean {
  const ads = job.spec?.activeDeadlineSeconds;
  const start = parseTime(job.status?.startTime);
  if (ads === undefined || ads === null || start === undefined || isSuspended(job)) return false;
  return now - start >= ads * 1000;
}

/** The pod's completion index, or -1 when it has none or it is malformed. */
export function completionIndex(pod: Pod): number {
  const v = pod.metadata?.annotations?.[COMPLETION_INDEX_KEY] ?? pod.metadata?.labels?.[COMPLETION_INDEX_KEY];
  if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

export function validIndex(job: Job, ix: number): boolean {
  return ix >= 0 && ix < (job.spec?.completions ?? 0);
}

/** "1,3-5,7" → sorted indexes below `limit`; malformed parts are skipped. */
export function parseIndexes(s: string | undefined, limit: number): number[] {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b && i < limit; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Sorted indexes → "0-2,4,6,7": runs of three or more become ranges, pairs stay listed, as Kubernetes writes them. */
export function formatIndexes(indexes: Iterable<number>): string {
  const xs = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(i === j ? String(xs[i]) : j === i + 1 ? `${xs[i]},${xs[j]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Previously recorded completed indexes, and those plus the succeeded pods not yet counted. */
export function succeededIndexes(job: Job, pods: Pod[]): { prev: Set<number>; all: Set<number> } {
  const completions = job.spec?.completions ?? 0;
  const prev = new Set(parseIndexes(job.status?.completedIndexes, completions));
  const all = new Set(prev);
  for (const p of pods) {
    const ix = completionIndex(p);
    if (p.status?.phase === 'Succeeded' && validIndex(job, ix) && hasTrackingFinalizer(p)) all.add(ix);
  }
  return { prev, all };
}

/** The lowest `count` indexes that have neither succeeded nor an active pod. */
export function firstPendingIndexes(job: Job, active: Pod[], succeeded: Set<number>, count: number): number[] {
  const completions = job.spec?.completions ?? 0;
  const busy = new Set(active.map(completionIndex));
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) if (!succeeded.has(i) && !busy.has(i)) out.push(i);
  return out;
}

/**
 * Active pods to delete: for Indexed Jobs, those with an invalid index and all but the best pod of a
 * repeated index; then the least valuable pods until at least `rmAtLeast` are chosen.
 */
export function activePodsForRemoval(job: Job, pods: Pod[], rmAtLeast: number): Pod[] {
  const rm: Pod[] = [];
  let left: Pod[] = pods;
  if (isIndexed(job)) {
    left = [];
    const byIndex = new Map<number, Pod[]>();
    for (const p of pods) {
      const ix = completionIndex(p);
      if (!validIndex(job, ix)) rm.push(p);
      else byIndex.set(ix, [...(byIndex.get(ix) ?? []), p]);
    }
    for (const group of byIndex.values()) {
      group.sort(compareForDeletion);
      rm.push(...group.slice(0, -1));
      left.push(group[group.length - 1]!);
    }
  }
  if (rm.length < rmAtLeast) {
    const sorted = [...left].sort(compareForDeletion);
    rm.push(...sorted.slice(0, rmAtLeast - rm.length));
  }
  return rm;
}

/** When a pod finished: its last container's end, else when it became not ready, else its deletion. */
export function podFinishTime(pod: Pod): number {
  let latest: number | undefined;
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const t = parseTime(c.state?.terminated?.finishedAt);
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  }
  if (latest !== undefined) return latest;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'False') {
    const t = parseTime(ready.lastTransitionTime);
    if (t !== undefined) return t;
  }
  return parseTime(pod.metadata?.deletionTimestamp) ?? parseTime(pod.metadata?.creationTimestamp) ?? 0;
}

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** Fold newly finished pods into the Job's failure back-off: a success resets it, later failures count. */
export function nextBackoffRecord(prev: BackoffRecord | undefined, newSucceeded: Pod[], newFailed: Pod[]): BackoffRecord {
  const rec: BackoffRecord = { failuresAfterLastSuccess: prev?.failuresAfterLastSuccess ?? 0, lastFailureTime: prev?.lastFailureTime };
  const failedTimes = newFailed.map(podFinishTime).sort((a, b) => a - b);
  if (newSucceeded.length === 0) {
    if (failedTimes.length === 0) return rec;
    rec.failuresAfterLastSuccess += failedTimes.length;
    rec.lastFailureTime = failedTimes[failedTimes.length - 1];
    return rec;
  }
  const lastSuccess = Math.max(...newSucceeded.map(podFinishTime));
  const after = failedTimes.filter((t) => t > lastSuccess);
  return { failuresAfterLastSuccess: after.length, lastFailureTime: after.length ? after[after.length - 1] : undefined };
}

/** How long pod creation must still wait after the last failures (10 s doubling per failure, at most 10 min). */
export function backoffRemaining(rec: BackoffRecord | undefined, now: number, base = DEFAULT_POD_FAILURE_BACKOFF_MS, max = MAX_POD_FAILURE_BACKOFF_MS): number {
  if (!rec || rec.failuresAfterLastSuccess === 0 || rec.lastFailureTime === undefined) return 0;
  let d = base;
  for (let i = 1; i < rec.failuresAfterLastSuccess; i++) {
    d *= 2;
    if (d >= max) {
      d = max;
      break;
    }
  }
  const elapsed = now - rec.lastFailureTime;
  return d < elapsed ? 0 : d - elapsed;
}

/** The pod name prefix for an index, shortened so the generated name stays within 63 characters. */
export function indexedGenerateName(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > 58 ? jobName.slice(0, 58 - suffix.length) + suffix : prefix;
}

function addIndexEnv(c: Container): void {
  const env = (c.env ??= []);
  if (env.some((e) => e.name === COMPLETION_INDEX_ENV)) return;
  env.push({ name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_KEY}']` } } });
}

/** The template of an Indexed Job's pod for `index`: annotation, label, env and hostname. */
export function indexedTemplate(template: PodTemplateSpec, jobName: string, index: number): PodTemplateSpec {
  const t = structuredClone(template);
  const meta = (t.metadata ??= {});
  meta.annotations = { ...(meta.annotations ?? {}), [COMPLETION_INDEX_KEY]: String(index) };
  meta.labels = { ...(meta.labels ?? {}), [COMPLETION_INDEX_KEY]: String(index) };
  const spec = t.spec ?? { containers: [] };
  for (const c of spec.initContainers ?? []) addIndexEnv(c);
  for (const c of spec.containers ?? []) addIndexEnv(c);
  spec.hostname = `${jobName}-${index}`;
  t.spec = spec;
  return t;
}
