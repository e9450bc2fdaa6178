import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  COMPLETION_INDEX_KEY,
  JOB_TRACKING_FINALIZER,
  activePodsForRemoval,
  backoffRemaining,
  completionIndex,
  ensureCondition,
  firstPendingIndexes,
  formatIndexes,
  indexedGenerateName,
  indexedTemplate,
  isJobFinished,
  isPodFailed,
  nextBackoffRecord,
  parseIndexes,
  pastActiveDeadline,
  pastBackoffLimitOnFailure,
  succeededIndexes,
} from '../../src/controllers/batch/jobutil.js';
import { timeLeft } from '../../src/controllers/batch/ttlafterfinished.js';

// The Job controller's rules, without an API server.

const T0 = Date.parse('2024-05-01T10:00:00Z');

function pod(name: string, opts: { phase?: string; index?: number; deleting?: boolean; ready?: boolean; finishedAt?: number; finalizer?: boolean; node?: string; created?: number } = {}): Pod {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: new Date(opts.created ?? T0).toISOString(),
      ...(opts.index !== undefined ? { annotations: { [COMPLETION_INDEX_KEY]: String(opts.index) } } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date(T0).toISOString() } : {}),
      ...(opts.finalizer === false ? {} : { finalizers: [JOB_TRACKING_FINALIZER] }),
    },
    spec: { containers: [{ name: 'c' }], ...(opts.node ? { nodeName: opts.node } : {}) },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: new Date(T0).toISOString() }],
      ...(opts.finishedAt !== undefined ? { containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, finishedAt: new Date(opts.finishedAt).toISOString() } } }] } : {}),
    },
  };
}

function job(spec: Job['spec'] = { template: {} }, status: Job['status'] = {}): Job {
  return { metadata: { name: 'j', namespace: 'default' }, spec, status };
}

test('completed indexes are written as Kubernetes writes them', () => {
  assert.equal(formatIndexes([0, 1, 2, 4]), '0-2,4');
  assert.equal(formatIndexes([3, 1, 7, 8]), '1,3,7,8');
  assert.equal(formatIndexes([5, 6, 7, 8, 10, 11]), '5-8,10,11');
  assert.equal(formatIndexes([]), '');
  assert.deepEqual(parseIndexes('0-2,4,9', 5), [0, 1, 2, 4]);
  assert.deepEqual(parseIndexes('1,3,x,7-6', 10), [1, 3]);
});

test('a pod being deleted before it finished counts as failed, unless only failed pods are replaced', () => {
  const j = job();
  assert.equal(isPodFailed(pod('a', { phase: 'Failed' }), j), true);
  assert.equal(isPodFailed(pod('b', { deleting: true }), j), true);
  assert.equal(isPodFailed(pod('c', { phase: 'Succeeded', deleting: true }), j), false);
  assert.equal(isPodFailed(pod('d', { deleting: true }), job({ template: {}, podReplacementPolicy: 'Failed' })), false);
});

test('the Job is finished only once Complete or Failed is true', () => {
  assert.equal(isJobFinished(job(undefined, { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] })), false);
  assert.equal(isJobFinished(job(undefined, { conditions: [{ type: 'Complete', status: 'True' }] })), true);
  assert.equal(isJobFinished(job(undefined, { conditions: [{ type: 'Failed', status: 'False' }] })), false);
});

test('conditions are appended, updated in place, and a new False one is not added', () => {
  const j = job();
  assert.equal(ensureCondition(j, 'Suspended', 'False', 'JobResumed', 'Job resumed', T0), false);
  assert.equal(j.status?.conditions?.length ?? 0, 0);
  assert.equal(ensureCondition(j, 'Suspended', 'True', 'JobSuspended', 'Job suspended', T0), true);
  assert.equal(ensureCondition(j, 'Suspended', 'True', 'JobSuspended', 'Job suspended', T0 + 1000), false);
  assert.equal(ensureCondition(j, 'Suspended', 'False', 'JobResumed', 'Job resumed', T0 + 2000), true);
  assert.deepEqual(
    j.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]),
    [['Suspended', 'False', 'JobResumed', '2024-05-01T10:00:02Z']],
  );
});

test('the active deadline counts from startTime and never while suspended', () => {
  const j = job({ template: {}, activeDeadlineSeconds: 10 }, { startTime: '2024-05-01T10:00:00Z' });
  assert.equal(pastActiveDeadline(j, T0 + 9_999), false);
  assert.equal(pastActiveDeadline(j, T0 + 10_000), true);
  j.spec!.suspend = true;
  assert.equal(pastActiveDeadline(j, T0 + 60_000), false);
});

test('restarts of OnFailure pods count against backoffLimit', () => {
  const p = pod('a');
  p.status!.containerStatuses = [{ name: 'c', image: 'x', imageID: '', ready: true, restartCount: 2 }];
  const j = job({ template: { spec: { containers: [], restartPolicy: 'OnFailure' } }, backoffLimit: 2 });
  assert.equal(pastBackoffLimitOnFailure(j, [p]), true);
  j.spec!.backoffLimit = 3;
  assert.equal(pastBackoffLimitOnFailure(j, [p]), false);
  j.spec!.template.spec!.restartPolicy = 'Never';
  j.spec!.backoffLimit = 0;
  assert.equal(pastBackoffLimitOnFailure(j, [p]), false);
});

test('pod failure back-off: 10 s doubling per failure since the last success, capped at 10 min', () => {
  let rec = nextBackoffRecord(undefined, [], [pod('f1', { phase: 'Failed', finishedAt: T0 })]);
  assert.deepEqual(rec, { failuresAfterLastSuccess: 1, lastFailureTime: T0 });
  assert.equal(backoffRemaining(rec, T0 + 4_000), 6_000);
  assert.equal(backoffRemaining(rec, T0 + 10_001), 0);
  rec = nextBackoffRecord(rec, [], [pod('f2', { phase: 'Failed', finishedAt: T0 + 20_000 }), pod('f3', { phase: 'Failed', finishedAt: T0 + 21_000 })]);
  assert.deepEqual(rec, { failuresAfterLastSuccess: 3, lastFailureTime: T0 + 21_000 });
  assert.equal(backoffRemaining(rec, T0 + 21_000), 40_000);
  assert.equal(backoffRemaining({ failuresAfterLastSuccess: 20, lastFailureTime: T0 }, T0), 600_000);
  // A success resets the count; only failures after it remain.
  rec = nextBackoffRecord(rec, [pod('s', { phase: 'Succeeded', finishedAt: T0 + 30_000 })], [pod('f4', { phase: 'Failed', finishedAt: T0 + 25_000 }), pod('f5', { phase: 'Failed', finishedAt: T0 + 35_000 })]);
  assert.deepEqual(rec, { failuresAfterLastSuccess: 1, lastFailureTime: T0 + 35_000 });
  assert.equal(backoffRemaining({ failuresAfterLastSuccess: 0 }, T0), 0);
});

test('Indexed Jobs: pending indexes, succeeded indexes, and duplicate or invalid indexes go first', () => {
  const j = job({ template: {}, completions: 5, completionMode: 'Indexed' }, { completedIndexes: '1' });
  const active = [pod('a', { index: 0 }), pod('b', { index: 3 })];
  const { prev, all } = succeededIndexes(j, [pod('s', { phase: 'Succeeded', index: 2 }), pod('t', { phase: 'Succeeded', index: 4, finalizer: false })]);
  assert.deepEqual([...prev], [1]);
  assert.deepEqual([...all].sort(), [1, 2]);
  assert.deepEqual(firstPendingIndexes(j, active, all, 5), [4]);
  assert.deepEqual(firstPendingIndexes(j, [], new Set(), 2), [0, 1]);

  const dupOld = pod('dup-old', { index: 3, node: 'n1', created: T0 - 60_000 });
  const dupNew = pod('dup-new', { index: 3, ready: false });
  const bad = pod('bad', { index: 7 });
  const none = pod('none');
  const rm = activePodsForRemoval(j, [dupOld, dupNew, bad, none, pod('ok', { index: 0 })], 0);
  assert.deepEqual(rm.map((p) => p.metadata?.name).sort(), ['bad', 'dup-new', 'none']);
  assert.equal(completionIndex(pod('x', { index: 12 })), 12);
  assert.equal(completionIndex({ metadata: { annotations: { [COMPLETION_INDEX_KEY]: '01' } } }), -1);
});

test('surplus pods: unscheduled, then not ready, go before scheduled ready ones', () => {
  const j = job({ template: {}, completions: 3 });
  const pods = [pod('ready', { node: 'n1' }), pod('unscheduled'), pod('notready', { node: 'n1', ready: false })];
  assert.deepEqual(
    activePodsForRemoval(j, pods, 2).map((p) => p.metadata?.name),
    ['unscheduled', 'notready'],
  );
});

test('an Indexed pod template carries the index as annotation, label, env and hostname', () => {
  const t = indexedTemplate({ metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c' }, { name: 'd', env: [{ name: 'JOB_COMPLETION_INDEX', value: 'mine' }] }], initContainers: [{ name: 'i' }] } }, 'work', 4);
  assert.equal(t.metadata?.annotations?.[COMPLETION_INDEX_KEY], '4');
  assert.equal(t.metadata?.labels?.[COMPLETION_INDEX_KEY], '4');
  assert.equal(t.metadata?.labels?.app, 'x');
  assert.equal(t.spec?.hostname, 'work-4');
  assert.deepEqual(t.spec?.containers[0]?.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
  assert.deepEqual(t.spec?.containers[1]?.env, [{ name: 'JOB_COMPLETION_INDEX', value: 'mine' }]);
  assert.equal(t.spec?.initContainers?.[0]?.env?.[0]?.name, 'JOB_COMPLETION_INDEX');
  assert.equal(indexedGenerateName('work', 4), 'work-4-');
  const long = 'x'.repeat(63);
  assert.equal(indexedGenerateName(long, 12), `${'x'.repeat(54)}-12-`);
});

test('ttlSecondsAfterFinished counts from the terminal condition', () => {
  const j = job({ template: {}, ttlSecondsAfterFinished: 30 }, { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' }] });
  assert.equal(timeLeft(j, T0 + 10_000), 20_000);
  assert.ok((timeLeft(j, T0 + 30_000) ?? 1) <= 0);
  assert.equal(timeLeft(job({ template: {} }, j.status), T0), undefined);
  assert.equal(timeLeft(job({ template: {}, ttlSecondsAfterFinished: 0 }, {}), T0), undefined);
});
