import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnerReference } from '../../src/api/object.js';
import { OwnershipGraph, AbsentOwnerCache, type GraphNode, type ObservedObject } from '../../src/controllers/lifecycle/gcgraph.js';
import { collectedResources, resolveKind } from '../../src/controllers/lifecycle/garbagecollector.js';

// The garbage collector's ownership graph: which nodes it asks the collector to look at, and when.

function recorder() {
  const deletes: string[] = [];
  const orphans: string[] = [];
  const invalid: string[] = [];
  const graph = new OwnershipGraph(
    {
      attemptToDelete: (n: GraphNode) => deletes.push(n.identity.name),
      attemptToOrphan: (n: GraphNode) => orphans.push(n.identity.name),
      invalidOwnerNamespace: (d: GraphNode, ref: OwnerReference) => invalid.push(`${d.identity.name}->${ref.name}`),
    },
    (apiVersion, kind) => resolveKind(apiVersion, kind)?.namespaced,
  );
  const drain = () => {
    const out = { deletes: [...deletes], orphans: [...orphans], invalid: [...invalid] };
    deletes.length = 0;
    orphans.length = 0;
    invalid.length = 0;
    return out;
  };
  return { graph, drain };
}

function obj(kind: string, name: string, opts: { ns?: string; owners?: OwnerReference[]; deleting?: boolean; finalizers?: string[]; apiVersion?: string } = {}): ObservedObject {
  return {
    identity: { apiVersion: opts.apiVersion ?? (kind === 'Pod' || kind === 'ConfigMap' ? 'v1' : 'apps/v1'), kind, namespace: opts.ns ?? 'default', name, uid: `uid-${name}` },
    ownerReferences: opts.owners ?? [],
    deleting: !!opts.deleting,
    finalizers: opts.finalizers ?? [],
  };
}

function ref(kind: string, name: string, block = true): OwnerReference {
  return { apiVersion: kind === 'ConfigMap' ? 'v1' : 'apps/v1', kind, name, uid: `uid-${name}`, controller: true, blockOwnerDeletion: block };
}

test('a dependent seen before its owner makes a virtual owner that the collector must verify', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs')] }));
  assert.deepEqual(drain().deletes, ['rs']);
  const owner = graph.get('uid-rs')!;
  assert.equal(owner.observed, false);
  assert.equal(owner.identity.namespace, 'default');
  graph.observe(obj('ReplicaSet', 'rs'));
  assert.equal(graph.get('uid-rs')!.observed, true);
  assert.deepEqual(drain().deletes, [], 'an owner observed as referenced needs no second look at its dependents');
  assert.equal(graph.size, 2);
});

test('an owner going away sends its dependents to the collector', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('ReplicaSet', 'rs'));
  graph.observe(obj('Pod', 'a', { owners: [ref('ReplicaSet', 'rs')] }));
  graph.observe(obj('Pod', 'b', { owners: [ref('ReplicaSet', 'rs')] }));
  drain();
  graph.observeDelete('uid-rs');
  assert.deepEqual(drain().deletes.sort(), ['a', 'b']);
  assert.equal(graph.get('uid-rs'), undefined);
});

test('foreground deletion: dependents and the owner are looked at; only blocking dependents hold it', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('Deployment', 'd'));
  graph.observe(obj('ReplicaSet', 'blocking', { owners: [ref('Deployment', 'd', true)] }));
  graph.observe(obj('ReplicaSet', 'free', { owners: [ref('Deployment', 'd', false)] }));
  drain();
  const old = obj('Deployment', 'd');
  graph.observe(obj('Deployment', 'd', { deleting: true, finalizers: ['foregroundDeletion'] }), old);
  assert.deepEqual(drain().deletes.sort(), ['blocking', 'd', 'free']);
  const d = graph.get('uid-d')!;
  assert.equal(d.deletingDependents, true);
  assert.deepEqual(d.blockingDependents().map((n) => n.identity.name), ['blocking']);
  // The same state seen again (a relist) is no new transition.
  graph.observe(obj('Deployment', 'd', { deleting: true, finalizers: ['foregroundDeletion'] }), obj('Deployment', 'd', { deleting: true, finalizers: ['foregroundDeletion'] }));
  assert.deepEqual(drain().deletes, []);
  // A blocking dependent disappearing wakes the waiting owner.
  graph.observeDelete('uid-blocking');
  assert.deepEqual(drain().deletes, ['d']);
});

test('an owner already in foreground deletion when first observed is processed at once', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('Deployment', 'd', { deleting: true, finalizers: ['foregroundDeletion'] }));
  assert.deepEqual(drain().deletes, ['d']);
  assert.equal(graph.get('uid-d')!.deletingDependents, true);
});

test('orphan deletion hands the owner to the orphan queue, once', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('ReplicaSet', 'rs'));
  graph.observe(obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs')] }));
  drain();
  const deleting = obj('ReplicaSet', 'rs', { deleting: true, finalizers: ['orphan'] });
  graph.observe(deleting, obj('ReplicaSet', 'rs'));
  assert.deepEqual(drain(), { deletes: [], orphans: ['rs'], invalid: [] });
  graph.observe(deleting, deleting);
  assert.deepEqual(drain().orphans, []);
});

test('dropping or unblocking a blocking reference wakes the owner; owners lists follow updates', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('ReplicaSet', 'rs'));
  graph.observe(obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs', true)] }));
  drain();
  graph.observe(obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs', false)] }), obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs', true)] }));
  assert.deepEqual(drain().deletes, ['rs']);
  assert.equal(graph.get('uid-rs')!.dependents.size, 1);
  graph.observe(obj('Pod', 'p'), obj('Pod', 'p', { owners: [ref('ReplicaSet', 'rs', false)] }));
  assert.deepEqual(drain().deletes, [], 'a non-blocking reference going away changes nothing for the owner');
  assert.equal(graph.get('uid-rs')!.dependents.size, 0);
});

test('an owner in another namespace is reported and its dependent looked at', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('ConfigMap', 'owner', { ns: 'a' }));
  graph.observe(obj('ConfigMap', 'dep', { ns: 'b', owners: [ref('ConfigMap', 'owner')] }));
  assert.deepEqual(drain(), { deletes: ['dep'], orphans: [], invalid: ['dep->owner'] });
});

test('a virtual owner confirmed absent is dropped and its dependents collected', () => {
  const { graph, drain } = recorder();
  graph.observe(obj('Pod', 'p', { owners: [ref('ReplicaSet', 'ghost')] }));
  drain();
  graph.virtualDelete('uid-ghost');
  assert.deepEqual(drain().deletes, ['p']);
  assert.equal(graph.get('uid-ghost'), undefined);
});

test('a cluster-scoped owner kind gets a cluster-scoped virtual node', () => {
  const { graph } = recorder();
  graph.observe(obj('Pod', 'mirror', { owners: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-n1' }] }));
  assert.equal(graph.get('uid-n1')!.identity.namespace, '');
});

test('the collector watches one version of every listable kind but events', () => {
  const names = collectedResources().map((r) => `${r.group}/${r.resource}`);
  for (const want of ['/pods', 'apps/replicasets', 'apps/deployments', 'apps/controllerrevisions', 'batch/jobs', 'discovery.k8s.io/endpointslices', '/configmaps', '/nodes', 'coordination.k8s.io/leases']) {
    assert.ok(names.includes(want), want);
  }
  assert.ok(!names.includes('/events') && !names.includes('events.k8s.io/events'));
  assert.equal(names.filter((n) => n === 'autoscaling/horizontalpodautoscalers').length, 1);
  assert.equal(resolveKind('apps/v1beta2', 'Deployment')?.resource, 'deployments', 'any served version of the group resolves');
  assert.equal(resolveKind('example.com/v1', 'Widget'), undefined);
});

test('the absent-owner cache is keyed by namespace and bounded', () => {
  const c = new AbsentOwnerCache(2);
  c.add('a', 'u1');
  assert.ok(c.has('a', 'u1'));
  assert.ok(!c.has('b', 'u1'), 'absent in one namespace says nothing about another');
  c.add('a', 'u2');
  c.add('a', 'u3');
  assert.ok(!c.has('a', 'u1'));
  assert.ok(c.has('a', 'u3'));
});
