import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as u from '../../src/controllers/workloads/deploymentutil.js';
import { activeOrLatest } from '../../src/controllers/workloads/rollout.js';
import type { Deployment, ReplicaSet } from '../../src/controllers/workloads/types.js';

// The rollout arithmetic of the deployment controller, without a server.

function deployment(replicas: number, extra: Partial<Deployment['spec']> = {}, status: Deployment['status'] = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1' }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      ...extra,
    },
    status,
  };
}

let created = 0;
function replicaSet(name: string, replicas: number, status: Partial<NonNullable<ReplicaSet['status']>> = {}, annotations: Record<string, string> = {}): ReplicaSet {
  created++;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, created)).toISOString(), annotations, generation: 1 },
    spec: { replicas, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: `img-${name}` }] } } },
    status: { replicas: status.replicas ?? replicas, availableReplicas: status.availableReplicas ?? replicas, readyReplicas: status.readyReplicas ?? replicas, observedGeneration: 1, ...status },
  };
}

test('percentages: surge rounds up, unavailable rounds down, both zero makes unavailable 1', () => {
  assert.deepEqual(u.resolveFenceposts('25%', '25%', 5), [2, 1]);
  assert.deepEqual(u.resolveFenceposts('25%', '25%', 10), [3, 2]);
  assert.deepEqual(u.resolveFenceposts('25%', '25%', 1), [1, 0]);
  assert.deepEqual(u.resolveFenceposts(0, '10%', 5), [0, 1]);
  assert.deepEqual(u.resolveFenceposts(0, 0, 5), [0, 1]);
  assert.deepEqual(u.resolveFenceposts(3, 2, 5), [3, 2]);
  assert.deepEqual(u.resolveFenceposts('100%', '0%', 3), [3, 0]);
  assert.throws(() => u.scaledValue('abc', 4, true), /not a percentage/);
});

test('maxUnavailable never exceeds replicas and is 0 for Recreate or zero replicas', () => {
  assert.equal(u.maxUnavailable(deployment(2, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } } })), 2);
  assert.equal(u.maxUnavailable(deployment(0)), 0);
  assert.equal(u.maxUnavailable(deployment(4, { strategy: { type: 'Recreate' } })), 0);
  assert.equal(u.maxSurge(deployment(4, { strategy: { type: 'Recreate' } })), 0);
  assert.equal(u.maxSurge(deployment(5)), 2);
});

test('pod-template-hash: stable, label-safe, sensitive to the template and the collision count', () => {
  const d = deployment(1);
  const h = u.computeHash(d.spec.template);
  assert.equal(h, u.computeHash(structuredClone(d.spec.template)));
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  // Unset and empty mean the same thing, and key order does not matter.
  assert.equal(u.computeHash({ spec: { containers: [{ image: 'nginx:1', name: 'web' }] }, metadata: { labels: { app: 'web' }, annotations: {} } }), h);
  const other = structuredClone(d.spec.template!);
  (other.spec!.containers as Array<{ image: string }>)[0].image = 'nginx:2';
  assert.notEqual(u.computeHash(other), h);
  assert.notEqual(u.computeHash(d.spec.template, 1), h);
  assert.notEqual(u.computeHash(d.spec.template, 1), u.computeHash(d.spec.template, 2));
});

test('templates compare equal ignoring pod-template-hash', () => {
  const d = deployment(1);
  const t = structuredClone(d.spec.template!);
  t.metadata!.labels![u.POD_TEMPLATE_HASH] = 'abc';
  assert.ok(u.equalIgnoreHash(d.spec.template, t));
  (t.spec!.containers as Array<{ image: string }>)[0].image = 'nginx:2';
  assert.ok(!u.equalIgnoreHash(d.spec.template, t));
});

test('the new ReplicaSet grows only as far as the surge allows', () => {
  const d = deployment(5);
  const old = replicaSet('old', 5);
  const fresh = replicaSet('new', 0);
  assert.equal(u.newRSNewReplicas(d, [old, fresh], fresh), 2);
  // Old scaled down to 3 but still reporting 5 pods: those count until they are seen to go (kite's stricter
  // bound; Kubernetes would count 3 and allow 4).
  const shrinking = replicaSet('old2', 3, { replicas: 5 });
  assert.equal(u.newRSNewReplicas(d, [shrinking, fresh], fresh), 2);
  const shrunk = replicaSet('old3', 3, { replicas: 3 });
  assert.equal(u.newRSNewReplicas(d, [shrunk, { ...fresh, spec: { ...fresh.spec, replicas: 2 } }], { ...fresh, spec: { ...fresh.spec, replicas: 2 } }), 4);
  // Never beyond the desired count; Recreate jumps straight to it.
  assert.equal(u.newRSNewReplicas(d, [fresh], fresh), 5);
  assert.equal(u.newRSNewReplicas(deployment(5, { strategy: { type: 'Recreate' } }), [old, fresh], fresh), 5);
});

test('availability is never counted beyond what a ReplicaSet is scaled to', () => {
  assert.equal(u.availableLowerBound([replicaSet('a', 2, { availableReplicas: 5 }), replicaSet('b', 3, { availableReplicas: 1 })]), 3);
});

test('revision annotations: new ReplicaSets get max+1, a returning one records its old revision', () => {
  const d = deployment(3);
  d.metadata.annotations = { 'kubernetes.io/change-cause': 'why', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
  const rs = replicaSet('x', 0, {}, {});
  assert.ok(u.setNewReplicaSetAnnotations(d, rs, 1, false));
  assert.deepEqual({ ...rs.metadata.annotations }, {
    'kubernetes.io/change-cause': 'why',
    [u.REVISION]: '1',
    [u.DESIRED_REPLICAS]: '3',
    [u.MAX_REPLICAS]: '4',
  });
  assert.ok(!u.setNewReplicaSetAnnotations(d, rs, 1, true), 'nothing changes the second time');
  assert.ok(u.setNewReplicaSetAnnotations(d, rs, 3, true));
  assert.equal(rs.metadata.annotations![u.REVISION], '3');
  assert.equal(rs.metadata.annotations![u.REVISION_HISTORY], '1');
  assert.equal(u.maxRevision([rs, replicaSet('y', 0, {}, { [u.REVISION]: '2' })]), 3);
  assert.ok(u.setDeploymentRevision(d, '3'));
  assert.ok(!u.setDeploymentRevision(d, '3'));
});

test('scaling events are recognised by the desired-replicas annotation', () => {
  const d = deployment(5);
  assert.ok(u.isScalingEvent(d, [replicaSet('a', 3, {}, { [u.DESIRED_REPLICAS]: '3' })]));
  assert.ok(!u.isScalingEvent(d, [replicaSet('a', 3, {}, { [u.DESIRED_REPLICAS]: '5' })]));
  assert.ok(!u.isScalingEvent(d, [replicaSet('a', 0, {}, { [u.DESIRED_REPLICAS]: '3' })]), 'inactive sets do not count');
});

test('proportional scaling spreads a resize over the active ReplicaSets', () => {
  // A rollout of 10 (surge 3) caught mid-way, then scaled to 20 (surge 5): 25 allowed instead of 13.
  const d = deployment(20, {}, { replicas: 13 });
  const old = replicaSet('old', 8, {}, { [u.MAX_REPLICAS]: '13' });
  const fresh = replicaSet('new', 5, {}, { [u.MAX_REPLICAS]: '13' });
  const { sizes, operation } = u.proportionalSizes(d, [old, fresh]);
  assert.equal(operation, 'up');
  assert.equal(sizes.get(old), 15);
  assert.equal(sizes.get(fresh), 10);
  // Down to 5 (surge 2): 7 allowed, taken proportionally, the leftover from the largest.
  const down = u.proportionalSizes(deployment(5, {}, { replicas: 13 }), [old, fresh]);
  assert.equal(down.operation, 'down');
  assert.equal(down.sizes.get(old)! + down.sizes.get(fresh)!, 7);
  assert.equal(down.sizes.get(old), 4);
  assert.equal(down.sizes.get(fresh), 3);
});

test('the only active ReplicaSet, or the newest, takes a plain resize', () => {
  const a = replicaSet('a', 0);
  const b = replicaSet('b', 0);
  const n = replicaSet('n', 3);
  assert.equal(activeOrLatest(n, [a, b]), n);
  assert.equal(activeOrLatest(undefined, [a, b]), b);
  assert.equal(activeOrLatest(replicaSet('n2', 0), [a, b])?.metadata.name, 'n2');
  assert.equal(activeOrLatest(n, [replicaSet('c', 1)]), undefined);
});

test('status counts and the Available condition', () => {
  const d = deployment(5, {}, {});
  const old = replicaSet('old', 2, { replicas: 2, readyReplicas: 2, availableReplicas: 2 });
  const fresh = replicaSet('new', 3, { replicas: 3, readyReplicas: 2, availableReplicas: 1 });
  const s = u.calculateStatus([old, fresh], fresh, d);
  assert.equal(s.replicas, 5);
  assert.equal(s.updatedReplicas, 3);
  assert.equal(s.readyReplicas, 4);
  assert.equal(s.availableReplicas, 3);
  assert.equal(s.unavailableReplicas, 2);
  assert.equal(s.observedGeneration, 1);
  const avail = u.getCondition(s, u.AVAILABLE)!;
  assert.equal(avail.status, 'False');
  assert.equal(avail.reason, 'MinimumReplicasUnavailable');
  assert.equal(avail.message, 'Deployment does not have minimum availability.');
  const ok = u.calculateStatus([replicaSet('n', 5)], undefined, d);
  assert.equal(u.getCondition(ok, u.AVAILABLE)!.reason, 'MinimumReplicasAvailable');
  assert.equal(ok.updatedReplicas, undefined, 'zero counts are omitted');
});

test('conditions keep their transition time while the status holds', () => {
  const s = { conditions: [{ type: 'Progressing', status: 'True' as const, reason: 'A', lastTransitionTime: 't0', lastUpdateTime: 't0' }] };
  u.setCondition(s, { type: 'Progressing', status: 'True', reason: 'A', lastTransitionTime: 't1', lastUpdateTime: 't1' });
  assert.equal(s.conditions[0].lastUpdateTime, 't0', 'same status and reason: untouched');
  u.setCondition(s, { type: 'Progressing', status: 'True', reason: 'B', lastTransitionTime: 't2', lastUpdateTime: 't2' });
  assert.equal(s.conditions[0].lastTransitionTime, 't0');
  assert.equal(s.conditions[0].lastUpdateTime, 't2');
  u.setCondition(s, { type: 'Progressing', status: 'False', reason: 'C', lastTransitionTime: 't3', lastUpdateTime: 't3' });
  assert.equal(s.conditions[0].lastTransitionTime, 't3');
});

test('complete, progressing and timed out', () => {
  const d = deployment(3, { progressDeadlineSeconds: 10 }, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 });
  assert.ok(u.deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 }));
  assert.ok(!u.deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 0 }));
  assert.ok(u.deploymentProgressing(d, { replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }));
  assert.ok(u.deploymentProgressing(d, { replicas: 3, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }), 'fewer old replicas');
  assert.ok(!u.deploymentProgressing(d, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }));
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  const s = { conditions: [u.newCondition(u.PROGRESSING, 'True', u.RS_UPDATED, 'x', t0)] };
  assert.ok(!u.deploymentTimedOut(d, s, t0 + 9_000));
  assert.ok(u.deploymentTimedOut(d, s, t0 + 11_000));
  assert.ok(!u.deploymentTimedOut(d, { conditions: [u.newCondition(u.PROGRESSING, 'True', u.NEW_RS_AVAILABLE, 'x', t0)] }, t0 + 11_000));
  assert.ok(!u.deploymentTimedOut(deployment(3, { progressDeadlineSeconds: 2147483647 }), s, t0 + 11_000));
});

test('revisionHistoryLimit removes the oldest settled revisions only', () => {
  const d = deployment(3, { revisionHistoryLimit: 1 });
  const r1 = replicaSet('r1', 0, { replicas: 0 }, { [u.REVISION]: '1' });
  const r2 = replicaSet('r2', 0, { replicas: 0 }, { [u.REVISION]: '2' });
  const r3 = replicaSet('r3', 0, { replicas: 0 }, { [u.REVISION]: '3' });
  assert.deepEqual(u.replicaSetsToCleanUp(d, [r3, r1, r2]).map((r) => r.metadata.name), ['r1', 'r2']);
  const busy = replicaSet('r0', 0, { replicas: 1 }, { [u.REVISION]: '0' });
  assert.deepEqual(u.replicaSetsToCleanUp(d, [busy, r3]).map((r) => r.metadata.name), [], 'pods still going away');
  assert.deepEqual(u.replicaSetsToCleanUp(deployment(3, { revisionHistoryLimit: undefined }), [r1, r2]), []);
});
