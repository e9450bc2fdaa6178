import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../src/controllers/batch/clock.js';
import { ScalingHistory, averageValueReplicas, limitWithDefaultRules, podRequests, resourceReplicas, type PodMetrics } from '../../src/controllers/batch/hpacalc.js';

// The autoscaler's arithmetic.

const NOW = Date.parse('2024-05-01T12:00:00Z');

function pod(name: string, cpu: string, opts: { phase?: string; ready?: boolean; startedAgoMs?: number; readySinceAgoMs?: number; deleting?: boolean } = {}): Pod {
  const started = NOW - (opts.startedAgoMs ?? 3600_000);
  return {
    metadata: { name, ...(opts.deleting ? { deletionTimestamp: new Date(NOW).toISOString() } : {}) },
    spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }] },
    status: {
      phase: opts.phase ?? 'Running',
      startTime: new Date(started).toISOString(),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: new Date(NOW - (opts.readySinceAgoMs ?? 3000_000)).toISOString() }],
    },
  };
}

function usage(entries: Array<[string, number]>): PodMetrics {
  return new Map(entries.map(([n, v]) => [n, { value: v, timestamp: NOW - 5_000, windowMs: 30_000 }]));
}

test('desired = ceil(current × utilization / target)', () => {
  const pods = [pod('a', '500m'), pod('b', '500m')];
  // 900m of 1000m requested = 90% against 50% → ceil(2 × 1.8) = 4.
  const r = resourceReplicas(2, 50, 'cpu', pods, usage([['a', 450], ['b', 450]]), NOW);
  assert.deepEqual(r, { replicas: 4, current: 90, rawAverage: 450 });
  // 30% against 50% → ceil(4 × 0.6) = 3.
  assert.equal(resourceReplicas(4, 50, 'cpu', [...pods, pod('c', '500m'), pod('d', '500m')], usage([['a', 150], ['b', 150], ['c', 150], ['d', 150]]), NOW).replicas, 3);
});

test('within the 10% tolerance nothing changes', () => {
  const pods = [pod('a', '1'), pod('b', '1')];
  assert.equal(resourceReplicas(2, 80, 'cpu', pods, usage([['a', 840], ['b', 840]]), NOW).replicas, 2);
  assert.equal(resourceReplicas(2, 80, 'cpu', pods, usage([['a', 900], ['b', 900]]), NOW).replicas, 3);
});

test('pods without samples count as fully used on the way down and idle on the way up', () => {
  const pods = [pod('a', '1'), pod('b', '1'), pod('c', '1')];
  // Down: a,b at 10% of a 50% target; c unreported counts as 100% → (10+10+100)/3 = 40% → ceil(3×0.8) = 3.
  assert.equal(resourceReplicas(3, 50, 'cpu', pods, usage([['a', 100], ['b', 100]]), NOW).replicas, 3);
  // Up: a,b at 100%; c counts as 0 → 66% of 50% → ceil(3 × 1.33) = 4.
  assert.equal(resourceReplicas(3, 50, 'cpu', pods, usage([['a', 1000], ['b', 1000]]), NOW).replicas, 4);
});

test('unready and pending pods do not push a scale-up; deleted and failed pods are ignored', () => {
  const pods = [pod('a', '1'), pod('b', '1', { ready: false, startedAgoMs: 60_000, readySinceAgoMs: 60_000 }), pod('p', '1', { phase: 'Pending' }), pod('x', '1', { deleting: true })];
  // Only a counts at first (200% of 100%); on a scale-up b and p count as 0 → (2000+0+0)/3000 = 66% → not up.
  assert.equal(resourceReplicas(3, 100, 'cpu', pods, usage([['a', 2000], ['b', 2000], ['x', 5000]]), NOW).replicas, 3);
  assert.throws(() => resourceReplicas(1, 50, 'cpu', [pod('p', '1', { phase: 'Pending' })], usage([]), NOW), /did not receive metrics for targeted pods/);
  assert.throws(() => resourceReplicas(1, 50, 'cpu', [], usage([]), NOW), /no pods returned by selector/);
});

test('a container without a request makes utilization impossible', () => {
  const p = pod('a', '1');
  p.spec!.containers.push({ name: 'side' });
  assert.throws(() => podRequests([p], 'cpu'), /missing request for cpu in container side of Pod a/);
  assert.deepEqual([...podRequests([p], 'cpu', 'c')], [['a', 1000]]);
});

test('average value targets divide total usage by the target per pod', () => {
  const pods = [pod('a', '1'), pod('b', '1')];
  assert.deepEqual(averageValueReplicas(2, 200, 'cpu', pods, usage([['a', 500], ['b', 300]]), NOW), { replicas: 4, current: 400, rawAverage: 400 });
});

test('default rules: [min, max] and at most max(2×current, 4) per step', () => {
  assert.deepEqual(limitWithDefaultRules(2, 20, 1, 10), { replicas: 4, reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' });
  assert.deepEqual(limitWithDefaultRules(5, 20, 1, 8), { replicas: 8, reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' });
  assert.deepEqual(limitWithDefaultRules(5, 1, 2, 8), { replicas: 2, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' });
  assert.equal(limitWithDefaultRules(5, 6, 2, 8).reason, 'DesiredWithinRange');
});

test('scale-down is stabilised over five minutes of recommendations', () => {
  const clock = new FakeClock(NOW);
  const h = new ScalingHistory(() => clock.now());
  h.recordInitial('ns/x', 5);
  let n = h.normalize('ns/x', 5, 8, 1, 10);
  assert.equal(n.replicas, 8);
  assert.equal(n.ableToScale.reason, 'ReadyForNewScale');
  clock.advance(60_000);
  n = h.normalize('ns/x', 8, 3, 1, 10);
  assert.equal(n.replicas, 8);
  assert.equal(n.ableToScale.reason, 'ScaleDownStabilized');
  assert.deepEqual(n.scalingLimited, { status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' });
  clock.advance(5 * 60_000);
  assert.equal(h.normalize('ns/x', 8, 3, 1, 10).replicas, 3);
});

test('behavior: stabilisation windows and rate policies over recent scale events', () => {
  const clock = new FakeClock(NOW);
  const h = new ScalingHistory(() => clock.now());
  const behavior = {
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] },
    scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] },
  };
  h.recordInitial('k', 2);
  let n = h.normalizeWithBehavior('k', 2, 10, 1, 20, behavior);
  assert.deepEqual([n.replicas, n.scalingLimited.reason], [4, 'ScaleUpLimit']);
  h.recordScale('k', behavior, 2, 4);
  clock.advance(10_000);
  // The 60 s period already saw +2: no room left.
  n = h.normalizeWithBehavior('k', 4, 10, 1, 20, behavior);
  assert.equal(n.replicas, 4);
  clock.advance(60_000);
  n = h.normalizeWithBehavior('k', 4, 10, 1, 20, behavior);
  assert.equal(n.replicas, 6);
  // Down by at most half per minute.
  assert.deepEqual(h.normalizeWithBehavior('k', 6, 1, 1, 20, behavior).replicas, 3);
  const disabled = { ...behavior, scaleDown: { ...behavior.scaleDown, selectPolicy: 'Disabled' } };
  assert.equal(h.normalizeWithBehavior('k', 6, 1, 1, 20, disabled).replicas, 6);
  // A scale-up window keeps the lowest recent recommendation.
  const slowUp = { ...behavior, scaleUp: { ...behavior.scaleUp, stabilizationWindowSeconds: 300 } };
  const h2 = new ScalingHistory(() => clock.now());
  h2.recordInitial('k', 3);
  n = h2.normalizeWithBehavior('k', 3, 5, 1, 20, slowUp);
  assert.deepEqual([n.replicas, n.ableToScale.reason], [3, 'ScaleUpStabilized']);
});
