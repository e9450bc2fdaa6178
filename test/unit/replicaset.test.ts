import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Expectations, EXPECTATIONS_TIMEOUT_MS } from '../../src/controllers/workloads/expectations.js';
import { isPodActive, isPodAvailable, podsToDelete } from '../../src/controllers/workloads/pods.js';
import { calculateReplicaSetStatus, podFromTemplate, slowStartBatch } from '../../src/controllers/workloads/replicaset.js';
import type { Pod, ReplicaSet } from '../../src/controllers/workloads/types.js';

// The ReplicaSet controller's pieces that need no server: which pods go first, slow start, expectations,
// status and the pods it creates.

const NOW = Date.parse('2024-06-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readyFor?: number; age?: number; restarts?: number; cost?: string; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: ago(o.age ?? 1000),
      labels: { app: 'web' },
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
      ...(o.deleting ? { deletionTimestamp: ago(0) } : {}),
    },
    spec: { nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: ago(o.readyFor ?? 500) }],
      containerStatuses: [{ restartCount: o.restarts ?? 0 }],
    },
  };
}

const names = (ps: Pod[]) => ps.map((p) => p.metadata.name);

test('pods are deleted least valuable first', () => {
  const unscheduled = pod('unscheduled', { phase: 'Pending', ready: false });
  const pending = pod('pending', { node: 'n1', phase: 'Pending', ready: false });
  const notReady = pod('not-ready', { node: 'n1', ready: false });
  const cheap = pod('cheap', { node: 'n1', cost: '-10' });
  const old = pod('old', { node: 'n2', age: 100_000, readyFor: 90_000 });
  const young = pod('young', { node: 'n3', age: 10, readyFor: 5 });
  const all = [old, young, cheap, notReady, pending, unscheduled];
  assert.deepEqual(names(podsToDelete(all, all, 5, NOW)), ['unscheduled', 'pending', 'not-ready', 'cheap', 'young']);
  assert.deepEqual(names(podsToDelete(all, all, 2, NOW)), ['unscheduled', 'pending']);
});

test('among equals: doubled-up nodes first, then recently ready, more restarts, newer', () => {
  const a = pod('a', { node: 'crowded', readyFor: 100_000, age: 200_000 });
  const b = pod('b', { node: 'alone', readyFor: 100_000, age: 200_000 });
  const sibling = pod('sibling', { node: 'crowded' });
  assert.deepEqual(names(podsToDelete([a, b], [a, b, sibling], 1, NOW)), ['a']);
  const restarts = pod('r', { node: 'x', restarts: 5, readyFor: 100_000, age: 100_000 });
  const calm = pod('c', { node: 'y', readyFor: 100_000, age: 100_000 });
  assert.deepEqual(names(podsToDelete([calm, restarts], [], 1, NOW)), ['r']);
  const newer = pod('newer', { node: 'x', readyFor: 100_000, age: 10 });
  const older = pod('older', { node: 'y', readyFor: 100_000, age: 1_000_000 });
  assert.deepEqual(names(podsToDelete([older, newer], [], 1, NOW)), ['newer']);
});

test('active and available pods', () => {
  assert.ok(isPodActive(pod('a')));
  assert.ok(!isPodActive(pod('b', { phase: 'Succeeded' })));
  assert.ok(!isPodActive(pod('c', { deleting: true })));
  assert.ok(isPodAvailable(pod('d', { readyFor: 30 }), 10, NOW));
  assert.ok(!isPodAvailable(pod('e', { readyFor: 5 }), 10, NOW));
  assert.ok(!isPodAvailable(pod('f', { ready: false }), 0, NOW));
});

test('slow start: batches of 1, 2, 4, ... stopping at the first failing batch', async () => {
  let calls = 0;
  const ok = await slowStartBatch(10, 1, async () => {
    calls++;
  });
  assert.deepEqual(ok, { successes: 10 });
  assert.equal(calls, 10);
  calls = 0;
  const failing = await slowStartBatch(10, 1, async () => {
    calls++;
    if (calls > 2) throw new Error('quota');
  });
  // Batch 1 (1 call) and batch 2 (2 calls, the second fails): batch 3 never starts.
  assert.equal(calls, 3);
  assert.equal(failing.successes, 2);
  assert.match(String(failing.error), /quota/);
});

test('expectations hold a key until creations and deletions are observed, or expire', () => {
  let now = 0;
  const e = new Expectations(() => now);
  assert.ok(e.satisfied('ns/rs'));
  e.expectCreations('ns/rs', 2);
  assert.ok(!e.satisfied('ns/rs'));
  e.creationObserved('ns/rs');
  assert.ok(!e.satisfied('ns/rs'));
  e.creationObserved('ns/rs');
  assert.ok(e.satisfied('ns/rs'));
  e.expectDeletions('ns/rs', ['ns/p1', 'ns/p2']);
  e.deletionObserved('ns/rs', 'ns/p1');
  e.deletionObserved('ns/rs', 'ns/p1');
  assert.ok(!e.satisfied('ns/rs'), 'a pod seen deleted twice counts once');
  now += EXPECTATIONS_TIMEOUT_MS + 1;
  assert.ok(e.satisfied('ns/rs'), 'expired');
});

function rs(replicas: number, minReadySeconds = 0): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid', generation: 2 },
    spec: {
      replicas,
      minReadySeconds,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', tier: 'front' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
    status: { replicas: 0, observedGeneration: 1 },
  };
}

test('status: fully labeled, ready and available (minReadySeconds) counts, ReplicaFailure on errors', () => {
  const labeled = pod('a', { readyFor: 60 });
  labeled.metadata.labels = { app: 'web', tier: 'front' };
  const fresh = pod('b', { readyFor: 2 });
  const notReady = pod('c', { ready: false });
  const s = calculateReplicaSetStatus(rs(3, 10), [labeled, fresh, notReady], undefined, 0, NOW);
  assert.deepEqual({ ...s, conditions: undefined }, { replicas: 3, fullyLabeledReplicas: 1, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1, conditions: undefined });
  const failed = calculateReplicaSetStatus(rs(3), [], new Error('pods "x" is forbidden: exceeded quota'), -3, NOW);
  assert.equal(failed.conditions?.[0].type, 'ReplicaFailure');
  assert.equal(failed.conditions?.[0].reason, 'FailedCreate');
  assert.match(failed.conditions?.[0].message ?? '', /exceeded quota/);
  const cleared = calculateReplicaSetStatus({ ...rs(0), status: failed }, [], undefined, 0, NOW);
  assert.equal(cleared.conditions, undefined);
});

test('pods from the template: generateName, labels, annotations, controller reference', () => {
  const p = podFromTemplate(rs(1));
  assert.equal(p.metadata.generateName, 'web-abc-');
  assert.equal(p.metadata.name, undefined);
  assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'front' });
  assert.deepEqual(p.metadata.annotations, { a: 'b' });
  assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(p.spec, { containers: [{ name: 'c', image: 'nginx' }] });
});
