import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNode, node, pod } from '../../src/scheduler/fixtures.js';
import { FilterRun, PreFilterFailure, fitErrorMessage, numFeasibleNodesToFind, preFilter, selectHost, unresolvable, unschedulable, type Status } from '../../src/scheduler/framework.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { SchedulerCache } from '../../src/scheduler/cache.js';
import { defaultProfile } from '../../src/scheduler/plugins/index.js';
import { pickCandidate, preempt, selectVictimsOnNode } from '../../src/scheduler/preemption.js';
import type { NodeInfo } from '../../src/scheduler/nodeinfo.js';
import type { PodInfo } from '../../src/scheduler/podinfo.js';

// The framework around the plugins: messages, sampling, the queue, the cache, preemption.

test('FitError message: a sorted histogram of reasons, then the preemption part', () => {
  const statuses = new Map<string, Status>([
    ['cp', unresolvable('TaintToleration', 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }')],
    ['w1', unschedulable('NodeResourcesFit', 'Insufficient cpu')],
    ['w2', unschedulable('NodeResourcesFit', 'Insufficient cpu', 'Insufficient memory')],
  ]);
  assert.equal(
    fitErrorMessage({ numAllNodes: 3, statuses, plugins: new Set(), postFilterMsg: 'preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.' }),
    '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..',
  );
  assert.equal(fitErrorMessage({ numAllNodes: 2, statuses: new Map(), plugins: new Set(), preFilterMsg: 'x' }), '0/2 nodes are available: x.');
});

test('percentageOfNodesToScore: all nodes when small, adaptive share when large', () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(150), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(20000), 1000);
  assert.equal(numFeasibleNodesToFind(5000, 100), 5000);
  assert.equal(numFeasibleNodesToFind(5000, 1), 100);
});

test('selectHost: the best score wins; ties are broken at random', () => {
  assert.equal(selectHost([1, 5, 3]), 1);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(selectHost([7, 2, 7, 7]));
  assert.deepEqual([...seen].sort(), [0, 2, 3]);
});

test('default profile: filters run in kube-scheduler order, and skip what a pod cannot fail', () => {
  const profile = defaultProfile();
  assert.deepEqual(
    profile.filters.map((f) => f.name),
    ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity'],
  );
  assert.deepEqual(
    profile.scores.map((s) => [s.name, s.weight]),
    [['TaintToleration', 3], ['NodeAffinity', 2], ['NodeResourcesFit', 1], ['PodTopologySpread', 2], ['InterPodAffinity', 2], ['NodeResourcesBalancedAllocation', 1]],
  );
  const plain = pod('plain', { cpu: '1' });
  const run = preFilter(profile.filters, plain, [node('a')]) as FilterRun;
  assert.deepEqual(run.plugins.map((p) => p.name), ['NodeResourcesFit']);
  const cordonedAndTainted = [node('a'), node('b', { unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }] })];
  const run2 = preFilter(profile.filters, plain, cordonedAndTainted) as FilterRun;
  assert.deepEqual(run2.plugins.map((p) => p.name), ['NodeUnschedulable', 'TaintToleration', 'NodeResourcesFit']);
});

test('preFilter: a pod pinned to nodes by metadata.name is only filtered there; conflicting pins fail everywhere', () => {
  const pin = (...terms: string[][]) =>
    pod('ds', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((values) => ({ matchFields: [{ key: 'metadata.name', operator: 'In', values }] })) } } } } });
  const nodes = [node('a'), node('b'), node('c')];
  const run = preFilter(defaultProfile().filters, pin(['b'], ['c']), nodes) as FilterRun;
  assert.deepEqual([...run.nodeNames!].sort(), ['b', 'c']);
  assert.deepEqual(run.restrictedBy, ['NodeAffinity']);
  const conflict = pod('x', {
    spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }, { key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } } },
  });
  const failed = preFilter(defaultProfile().filters, conflict, nodes);
  assert.ok(failed instanceof PreFilterFailure);
  assert.deepEqual(failed.failure.reasons, ['pod affinity terms conflict']);
});

test('queue: priority first, then time in the queue', () => {
  let t = 1000;
  const q = new SchedulingQueue({ now: () => t });
  q.add(pod('low-old', { priority: 0 }));
  t++;
  q.add(pod('high', { priority: 100 }));
  t++;
  q.add(pod('low-new', { priority: 0 }));
  const order = [q.pop(), q.pop(), q.pop()].map((x) => x?.info.name);
  assert.deepEqual(order, ['high', 'low-old', 'low-new']);
  assert.equal(q.pop(), undefined);
  q.close();
  // Seen in any order (a restarted scheduler lists them), pods queue by age.
  const r = new SchedulingQueue();
  r.add(pod('young', { start: '2024-05-01T00:00:00Z' }));
  r.add(pod('old', { start: '2024-01-01T00:00:00Z' }));
  assert.deepEqual([r.pop(), r.pop()].map((x) => x?.info.name), ['old', 'young']);
  r.close();
});

test('queue: unschedulable pods return on an event that concerns their rejecting plugins', () => {
  let t = 0;
  const q = new SchedulingQueue({ now: () => t });
  const a = pod('cpu-short');
  const b = pod('tainted');
  q.add(a);
  q.add(b);
  const qa = q.pop()!;
  const qb = q.pop()!;
  q.requeueUnschedulable(qa, new Set(['NodeResourcesFit']));
  q.requeueUnschedulable(qb, new Set(['TaintToleration']));
  assert.equal(q.whereIs(a.uid), 'unschedulable');
  t += 5000;
  assert.equal(q.onEvent({ plugins: new Set(['NodeResourcesFit']) }), 1);
  assert.equal(q.whereIs(a.uid), 'active');
  assert.equal(q.whereIs(b.uid), 'unschedulable');
  // Moved before its back-off is over: it waits in the back-off heap.
  q.onEvent({ plugins: 'all' });
  assert.equal(q.whereIs(b.uid), 'active');
  const again = q.pop()!;
  q.requeueUnschedulable(again, new Set(['NodeResourcesFit']));
  q.onEvent({ plugins: 'all' });
  assert.equal(q.whereIs(again.info.uid), 'backoff');
  t += 10_000;
  q.flushBackoff();
  assert.equal(q.whereIs(again.info.uid), 'active');
  q.close();
});

test('queue: back-off doubles from 1s to at most 10s; gated pods wait until their gates are gone', () => {
  const q = new SchedulingQueue({ now: () => 0 });
  const p = { info: pod('p'), timestamp: 0, attempts: 1, seq: 0 };
  assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => q.backoffExpiry({ ...p, attempts: n })), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  const gated = pod('g', { spec: { schedulingGates: [{ name: 'wait' }] } });
  q.add(gated);
  assert.equal(q.whereIs(gated.uid), 'gated');
  assert.equal(q.pop(), undefined);
  const ungated = { ...gated, pod: { ...gated.pod, spec: { ...gated.pod.spec!, schedulingGates: [] } } };
  q.update(ungated, true);
  assert.equal(q.pop()?.info.name, 'g');
  q.close();
});

test('cache: assumed pods count at once; the watch confirms them, a failed binding forgets them', () => {
  const c = new SchedulerCache();
  c.addNode(makeNode('n1', { cpu: '2' }));
  const p = pod('p', { cpu: '1' });
  c.assumePod(p, 'n1');
  assert.equal(c.getNode('n1')!.requestedCPU, 1000);
  assert.ok(c.isAssumed(p.uid));
  const bound = { ...p, nodeName: 'n1' };
  c.addPod(bound);
  assert.ok(!c.isAssumed(p.uid));
  assert.equal(c.getNode('n1')!.requestedCPU, 1000);
  c.forgetPod(p.uid);
  assert.equal(c.getNode('n1')!.requestedCPU, 1000, 'a confirmed pod is not forgotten');
  const q = pod('q', { cpu: '1' });
  c.assumePod(q, 'n1');
  c.forgetPod(q.uid);
  assert.equal(c.getNode('n1')!.requestedCPU, 1000);
  c.removePod(p.uid);
  assert.equal(c.getNode('n1')!.requestedCPU, 0);
});

test('cache: node order interleaves zones; a deleted node leaves the list', () => {
  const c = new SchedulerCache();
  for (const [n, z] of [['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b'], ['c1', 'c']]) c.addNode(makeNode(n, { labels: { 'topology.kubernetes.io/zone': z } }));
  assert.deepEqual(c.nodeList().map((n) => n.name), ['a1', 'b1', 'c1', 'a2', 'a3']);
  c.removeNode('b1');
  assert.deepEqual(c.nodeList().map((n) => n.name), ['a1', 'c1', 'a2', 'a3']);
});

function runFor(p: PodInfo, nodes: NodeInfo[]): FilterRun {
  return preFilter(defaultProfile().filters, p, nodes) as FilterRun;
}

test('preemption: the fewest, lowest-priority victims that make room', () => {
  const n = node('n', { cpu: '4' }, [pod('low-1', { cpu: '1', priority: 1 }), pod('low-2', { cpu: '2', priority: 1 }), pod('mid', { cpu: '1', priority: 5 })]);
  const high = pod('high', { cpu: '2', priority: 10 });
  const q = new SchedulingQueue();
  const r = selectVictimsOnNode(high, n, runFor(high, [n]), q.nominator, []);
  assert.ok(!('code' in r));
  // Freeing low-2 (2 cpu) is enough: low-1 and mid are given back.
  assert.deepEqual(r.victims.map((v) => v.name), ['low-2']);
  const none = selectVictimsOnNode(pod('peer', { cpu: '2', priority: 1 }), n, runFor(high, [n]), q.nominator, []);
  assert.ok('code' in none && none.reasons[0] === 'No preemption victims found for incoming pod');
  q.close();
});

test('preemption: the node whose victims matter least; messages when it cannot help', () => {
  const a = node('a', { cpu: '2' }, [pod('a-mid', { cpu: '2', priority: 5 })]);
  const b = node('b', { cpu: '2' }, [pod('b-low', { cpu: '2', priority: 1 })]);
  const tainted = node('t', { cpu: '8', taints: [{ key: 'k', effect: 'NoSchedule' }] });
  const nodes = [a, b, tainted];
  const high = pod('high', { cpu: '2', priority: 10 });
  const run = runFor(high, nodes);
  const statuses = new Map<string, Status>();
  for (const n of nodes) statuses.set(n.name, run.run(high, n)!);
  const q = new SchedulingQueue();
  const diagnosis = { numAllNodes: 3, statuses, plugins: new Set<string>() };
  const out = preempt({ pod: high, run, nodes, diagnosis, nominator: q.nominator, random: () => 0 });
  assert.ok('candidate' in out && out.candidate.nodeName === 'b' && out.candidate.victims[0].name === 'b-low');

  const never = pod('never', { cpu: '2', priority: 10, spec: { preemptionPolicy: 'Never' } });
  assert.deepEqual(preempt({ pod: never, run, nodes, diagnosis, nominator: q.nominator }), { message: 'not eligible due to preemptionPolicy=Never.' });

  const peer = pod('peer', { cpu: '2', priority: 1 });
  assert.deepEqual(preempt({ pod: peer, run: runFor(peer, nodes), nodes, diagnosis, nominator: q.nominator }), {
    message: '0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    clearNomination: true,
  });
  q.close();
});

test('preemption: candidates ranked by fewest budget violations, then lowest top priority, then fewest victims', () => {
  const v = (name: string, priority: number) => pod(name, { priority });
  const pick = pickCandidate([
    { nodeName: 'x', victims: [v('x1', 5)], numPDBViolations: 0 },
    { nodeName: 'y', victims: [v('y1', 3), v('y2', 3)], numPDBViolations: 0 },
    { nodeName: 'z', victims: [v('z1', 1)], numPDBViolations: 1 },
  ]);
  assert.equal(pick?.nodeName, 'y');
});
