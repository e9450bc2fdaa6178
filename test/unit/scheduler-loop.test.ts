import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { ClusterLookups, SchedulerApi } from '../../src/scheduler/cluster.js';
import { makeNode, makePod, type PodOpts } from '../../src/scheduler/fixtures.js';

// The whole scheduling loop without an API server: informer events go in, bindings, status patches,
// evictions and events come out through a fake API that plays the server's part.

interface Call {
  op: 'bind' | 'status' | 'delete' | 'event';
  pod: string;
  detail: string;
}

function harness(lookups: Partial<ClusterLookups> = {}) {
  const calls: Call[] = [];
  const live = new Map<string, Pod>();
  // Back-off of a millisecond: retries are driven by the test, not by the clock.
  const s = new Scheduler({ statsIntervalMs: 0, random: () => 0, initialBackoffMs: 1, maxBackoffMs: 1 });
  const api: SchedulerApi = {
    async bind(pod, node) {
      calls.push({ op: 'bind', pod: pod.name, detail: node });
      // The API server sets nodeName; the informer reports the update.
      const old = live.get(pod.key)!;
      const bound = { ...old, spec: { ...old.spec!, nodeName: node } };
      live.set(pod.key, bound);
      s.podUpdated(old, bound);
    },
    async patchStatus(pod, status) {
      calls.push({ op: 'status', pod: pod.name, detail: JSON.stringify(status) });
      const old = live.get(pod.key);
      if (!old) return;
      const conds = (status.conditions as Array<{ type: string }> | undefined) ?? [];
      const next: Pod = { ...old, status: { ...old.status, ...('nominatedNodeName' in status ? { nominatedNodeName: (status.nominatedNodeName as string | null) ?? undefined } : {}), conditions: [...(old.status?.conditions ?? []).filter((c) => !conds.some((n) => n.type === c.type)), ...(conds as never[])] } };
      live.set(pod.key, next);
      s.podUpdated(old, next);
    },
    async deletePod(pod) {
      calls.push({ op: 'delete', pod: pod.name, detail: '' });
      const old = live.get(pod.key);
      live.delete(pod.key);
      if (old) s.podDeleted(old);
    },
    event(pod, type, reason, message) {
      calls.push({ op: 'event', pod: pod.metadata!.name!, detail: `${type} ${reason} ${message}` });
    },
    close() {},
  };
  s.attach(api, {
    pod: (key) => live.get(key),
    priorityClassValue: () => undefined,
    namespaceLabels: () => undefined,
    services: () => [],
    controller: () => undefined,
    disruptionBudgets: () => [],
    ...lookups,
  });
  const addPod = (name: string, o: PodOpts = {}) => {
    const p = makePod(name, o);
    live.set(`${p.metadata!.namespace}/${name}`, p);
    s.podAdded(p);
    return p;
  };
  /** Run cycles until the queue is empty, letting bindings and patches settle between them. */
  const drain = async () => {
    for (let i = 0; i < 100; i++) {
      while (s.scheduleNext());
      await new Promise((r) => setImmediate(r));
      if (s.queue.length === 0) return;
    }
  };
  const nodeOf = (name: string) => live.get(`default/${name}`)?.spec?.nodeName;
  /** Retry (flushing back-offs) until `name` is bound, with a deadline. */
  const settle = async (name: string) => {
    const deadline = Date.now() + 5000;
    while (!nodeOf(name)) {
      if (Date.now() > deadline) throw new Error(`${name} was not scheduled`);
      await new Promise((r) => setTimeout(r, 2));
      s.queue.flushBackoff();
      await drain();
    }
    return nodeOf(name);
  };
  return { s, calls, live, addPod, drain, nodeOf, settle };
}

test('loop: binds by priority order, counts assumed pods at once, reports nodes scored', async () => {
  const h = harness();
  h.s.nodeAdded(makeNode('a', { cpu: '2' }));
  h.s.nodeAdded(makeNode('b', { cpu: '1' }));
  h.addPod('low', { cpu: '1500m', priority: 0 });
  h.addPod('high', { cpu: '1500m', priority: 10 });
  await h.drain();
  // The high-priority pod goes first and takes the only node with room.
  assert.equal(h.nodeOf('high'), 'a');
  assert.equal(h.nodeOf('low'), undefined);
  assert.deepEqual(
    h.calls
      .filter((c) => c.op === 'event')
      .map((c) => c.detail)
      .sort(),
    [
      'Normal Scheduled Successfully assigned default/high to a',
      'Warning FailedScheduling 0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    ],
  );
  const status = h.calls.find((c) => c.op === 'status' && c.pod === 'low')!;
  assert.match(status.detail, /"type":"PodScheduled","status":"False","reason":"Unschedulable"/);
  assert.equal(h.s.stats.lastClusterNodes, 2);
  assert.ok(h.s.stats.totalScoredNodes >= 1);

  // A retry with the same verdict adds an event but no second status write.
  h.s.nodeAdded(makeNode('tiny', { cpu: '100m' }));
  await h.drain();
  const lowStatus = h.calls.filter((c) => c.op === 'status' && c.pod === 'low');
  assert.equal(lowStatus.length, 2, 'the message changed (3 nodes now)');
  // Deleting the high pod frees room: the low pod is tried again (after its back-off) and lands.
  const high = h.live.get('default/high')!;
  h.live.delete('default/high');
  h.s.podDeleted(high);
  assert.equal(await h.settle('low'), 'a');
  s_close(h.s);
});

test('loop: a pod pinned to one node (as DaemonSet pods are) is filtered only there', async () => {
  const h = harness();
  for (const n of ['a', 'b', 'c']) h.s.nodeAdded(makeNode(n, { cpu: '1' }));
  const pinned = (name: string, node: string, cpu: string) =>
    h.addPod(name, { cpu, spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } } } } });
  pinned('ds-b', 'b', '500m');
  pinned('ds-c', 'c', '2');
  await h.drain();
  assert.equal(h.nodeOf('ds-b'), 'b');
  assert.equal(h.s.stats.lastEvaluatedNodes, 1);
  const ev = h.calls.find((c) => c.op === 'event' && c.pod === 'ds-c')!;
  assert.equal(
    ev.detail,
    'Warning FailedScheduling 0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn\'t satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling..',
  );
  s_close(h.s);
});

test('loop: preemption evicts the victim, nominates the node, and the preemptor lands there', async () => {
  const h = harness();
  h.s.nodeAdded(makeNode('n', { cpu: '2' }));
  h.addPod('victim', { cpu: '1500m', priority: 1 });
  await h.drain();
  assert.equal(h.nodeOf('victim'), 'n');
  h.addPod('vip', { cpu: '1500m', priority: 100 });
  await h.drain();
  await new Promise((r) => setImmediate(r));
  const ops = h.calls.filter((c) => c.pod === 'victim' && c.op !== 'bind').map((c) => c.op + (c.op === 'event' ? ` ${c.detail.split(' ')[1]}` : ''));
  assert.deepEqual(ops.filter((o) => o !== 'event Scheduled'), ['status', 'delete', 'event Preempted']);
  const disruption = h.calls.find((c) => c.op === 'status' && c.pod === 'victim')!;
  assert.match(disruption.detail, /"type":"DisruptionTarget","status":"True","reason":"PreemptionByScheduler","message":"default-scheduler: preempting to accommodate a higher priority pod"/);
  const vipStatus = h.calls.find((c) => c.op === 'status' && c.pod === 'vip')!;
  assert.match(vipStatus.detail, /"nominatedNodeName":"n"/);
  assert.match(vipStatus.detail, /"message":"0\/1 nodes are available: 1 Insufficient cpu\."/);
  // The victim is gone: the preemptor is retried after its back-off and goes to its nominated node.
  assert.equal(await h.settle('vip'), 'n');
  s_close(h.s);
});

test('loop: pods for another scheduler, bound pods and terminating pods are not queued', () => {
  const h = harness();
  h.s.nodeAdded(makeNode('n'));
  h.addPod('other', { spec: { schedulerName: 'custom' } });
  h.addPod('bound', { nodeName: 'n' });
  h.addPod('leaving', { terminating: true });
  assert.equal(h.s.queue.length, 0);
  assert.equal(h.s.cache.getNode('n')!.pods.length, 1);
  s_close(h.s);
});

function s_close(s: Scheduler): void {
  s.queue.close();
}
