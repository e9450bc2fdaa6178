import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { computeStatus, planNodes, planRollingUpdate, scaledValue, updateBudget, type NodePods } from '../../src/controllers/apps/daemonsetplan.js';
import { REVISION_HASH_LABEL } from '../../src/controllers/apps/history.js';
import { addDaemonTolerations, nodeShouldRunDaemonPod, pinToNode, targetNodeName } from '../../src/controllers/apps/nodefit.js';

// Which nodes a DaemonSet runs on, and how it rolls.

function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } }, spec: { taints: opts.taints } };
}

function ds(spec: Partial<NonNullable<DaemonSet['spec']>['template']['spec']> = {}, extra: Partial<NonNullable<DaemonSet['spec']>> = {}): DaemonSet {
  return {
    metadata: { name: 'agent', namespace: 'kube-system', generation: 2 },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c' }], ...spec } }, ...extra },
  };
}

const T0 = Date.parse('2024-05-01T10:00:00Z');

function pod(name: string, nodeName: string, hash: string, opts: { ready?: boolean; phase?: string; created?: number; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      labels: { app: 'agent', [REVISION_HASH_LABEL]: hash },
      creationTimestamp: new Date(opts.created ?? T0).toISOString(),
      ...(opts.deleting ? { deletionTimestamp: new Date(T0).toISOString() } : {}),
    },
    spec: { containers: [{ name: 'c' }], affinity: pinToNode(undefined, nodeName) },
    status: { phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: new Date(T0 - 60_000).toISOString() }] },
  };
}

function byNode(pods: Pod[]): NodePods {
  const m: NodePods = new Map();
  for (const p of pods) {
    const n = targetNodeName(p.spec)!;
    m.set(n, [...(m.get(n) ?? []), p]);
  }
  return m;
}

test('taints: NoSchedule keeps new pods off, NoExecute also removes running ones, tolerations let them in', () => {
  const d = ds();
  assert.deepEqual(nodeShouldRunDaemonPod(node('a'), d), [true, true]);
  assert.deepEqual(nodeShouldRunDaemonPod(node('b', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), d), [false, true]);
  assert.deepEqual(nodeShouldRunDaemonPod(node('c', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }), d), [false, false]);
  assert.deepEqual(nodeShouldRunDaemonPod(node('d', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'PreferNoSchedule' }] }), d), [true, true]);
  const tolerant = ds({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
  assert.deepEqual(nodeShouldRunDaemonPod(node('b', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), tolerant), [true, true]);
  const everything = ds({ tolerations: [{ operator: 'Exists' }] });
  assert.deepEqual(nodeShouldRunDaemonPod(node('c', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }), everything), [true, true]);
});

test('daemon pods tolerate node trouble: not-ready, unreachable, pressure, cordon, and network for host networking', () => {
  const d = ds();
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    assert.deepEqual(nodeShouldRunDaemonPod(node('x', { taints: [{ key, effect: 'NoExecute' }] }), d), [true, true], key);
  }
  for (const key of ['node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure', 'node.kubernetes.io/unschedulable']) {
    assert.deepEqual(nodeShouldRunDaemonPod(node('x', { taints: [{ key, effect: 'NoSchedule' }] }), d), [true, true], key);
  }
  const net: Taint = { key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' };
  assert.deepEqual(nodeShouldRunDaemonPod(node('x', { taints: [net] }), d), [false, true]);
  assert.deepEqual(nodeShouldRunDaemonPod(node('x', { taints: [net] }), ds({ hostNetwork: true })), [true, true]);
  const spec = { containers: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'mine', operator: 'Exists' }] };
  addDaemonTolerations(spec);
  assert.equal(spec.tolerations.length, 7);
  assert.deepEqual(spec.tolerations[1], { key: 'mine', operator: 'Exists' });
});

test('node selector, required affinity and node name narrow the nodes', () => {
  const sel = ds({ nodeSelector: { disk: 'ssd' } });
  assert.equal(nodeShouldRunDaemonPod(node('a', { labels: { disk: 'ssd' } }), sel)[0], true);
  assert.deepEqual(nodeShouldRunDaemonPod(node('b'), sel), [false, false]);
  const aff = ds({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }],
        },
      },
    },
  });
  assert.equal(nodeShouldRunDaemonPod(node('a', { labels: { zone: 'b' } }), aff)[0], true);
  assert.equal(nodeShouldRunDaemonPod(node('b', { labels: { gpu: '1' } }), aff)[0], true);
  assert.equal(nodeShouldRunDaemonPod(node('c', { labels: { zone: 'c' } }), aff)[0], false);
  assert.deepEqual(nodeShouldRunDaemonPod(node('c'), ds({ nodeName: 'a' })), [false, false]);
});

test('pods are pinned by matchFields on metadata.name, replacing other required terms', () => {
  const a = pinToNode({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'x', operator: 'Exists' }] }] }, preferredDuringSchedulingIgnoredDuringExecution: [] } }, 'n3');
  assert.deepEqual(a.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n3'] }] }] });
  assert.deepEqual(a.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution, []);
  assert.equal(targetNodeName({ containers: [], affinity: a }), 'n3');
  assert.equal(targetNodeName({ containers: [], nodeName: 'n1', affinity: a }), 'n1');
});

test('five nodes, one tainted: four pods, and status counts them', () => {
  const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n)).concat(node('n5', { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }));
  const d = ds();
  const plan = planNodes(d, nodes, new Map(), 'h1', T0);
  assert.deepEqual(plan.create, ['n1', 'n2', 'n3', 'n4']);
  assert.deepEqual(plan.remove, []);
  const pods = byNode([pod('p1', 'n1', 'h1'), pod('p2', 'n2', 'h1'), pod('p3', 'n3', 'h1', { ready: false }), pod('p5', 'n5', 'h0')]);
  const st = computeStatus(d, nodes, pods, 'h1', T0);
  assert.deepEqual(st, { currentNumberScheduled: 3, desiredNumberScheduled: 4, numberMisscheduled: 1, numberReady: 2, observedGeneration: 2, updatedNumberScheduled: 3, numberAvailable: 2, numberUnavailable: 2 });
});

test('extra, failed and misplaced pods are removed', () => {
  const nodes = [node('n1'), node('n2'), node('n3', { taints: [{ key: 'k', effect: 'NoExecute' }] })];
  const pods = byNode([
    pod('old', 'n1', 'h1', { created: T0 - 10_000 }),
    pod('young', 'n1', 'h1'),
    pod('failed', 'n2', 'h1', { phase: 'Failed' }),
    pod('evicted', 'n3', 'h1'),
    pod('ghost', 'gone', 'h1'),
  ]);
  const plan = planNodes(ds(), nodes, pods, 'h1', T0);
  assert.deepEqual(plan.remove.sort(), ['evicted', 'failed', 'ghost', 'young']);
  assert.deepEqual(plan.failed, [['failed', 'n2']]);
  assert.deepEqual(plan.create, []);
});

test('rolling update without surge replaces at most maxUnavailable pods at a time', () => {
  const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n));
  const d = ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } });
  let pods = byNode(['n1', 'n2', 'n3', 'n4'].map((n) => pod(`old-${n}`, n, 'h1')));
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0), { create: [], remove: ['old-n1'] });
  // n1 replaced but not ready yet: nothing more may go.
  pods = byNode([pod('new-n1', 'n1', 'h2', { ready: false }), ...['n2', 'n3', 'n4'].map((n) => pod(`old-${n}`, n, 'h1'))]);
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0), { create: [], remove: [] });
  // An unavailable old pod is replaced regardless of the budget.
  pods = byNode([pod('new-n1', 'n1', 'h2', { ready: false }), pod('old-n2', 'n2', 'h1', { ready: false }), ...['n3', 'n4'].map((n) => pod(`old-${n}`, n, 'h1'))]);
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0).remove, ['old-n2']);
  const pct = ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } });
  pods = byNode(['n1', 'n2', 'n3', 'n4'].map((n) => pod(`old-${n}`, n, 'h1')));
  assert.deepEqual(planRollingUpdate(pct, nodes, pods, 'h2', T0).remove, ['old-n1', 'old-n2']);
});

test('rolling update with surge starts new pods beside old ones, then removes the old once available', () => {
  const nodes = ['n1', 'n2', 'n3'].map((n) => node(n));
  const d = ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
  let pods = byNode(['n1', 'n2', 'n3'].map((n) => pod(`old-${n}`, n, 'h1')));
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0), { create: ['n1'], remove: [] });
  pods = byNode([pod('new-n1', 'n1', 'h2', { ready: false }), ...['n1', 'n2', 'n3'].map((n) => pod(`old-${n}`, n, 'h1'))]);
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0), { create: [], remove: [] });
  pods = byNode([pod('new-n1', 'n1', 'h2'), ...['n1', 'n2', 'n3'].map((n) => pod(`old-${n}`, n, 'h1'))]);
  assert.deepEqual(planRollingUpdate(d, nodes, pods, 'h2', T0), { create: ['n2'], remove: ['old-n1'] });
  // With both pods on a node the manage loop keeps just one.
  const both = planNodes(d, nodes, byNode([pod('new-n1', 'n1', 'h2', { created: T0 }), pod('old-n1', 'n1', 'h1', { created: T0 - 5000 })]), 'h2', T0);
  assert.deepEqual(both.remove, ['old-n1']);
});

test('percentages scale like intstr: maxUnavailable and maxSurge round up, never both zero', () => {
  assert.equal(scaledValue('25%', 10, true), 3);
  assert.equal(scaledValue('25%', 10, false), 2);
  assert.equal(scaledValue(2, 10, true), 2);
  assert.deepEqual(updateBudget(ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } } }), 15), { maxSurge: 0, maxUnavailable: 2 });
  assert.deepEqual(updateBudget(ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }), 5), { maxSurge: 0, maxUnavailable: 1 });
  assert.deepEqual(updateBudget(ds({}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '20%' } } }), 12), { maxSurge: 3, maxUnavailable: 0 });
});
