import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { findResource } from '../../src/api/resources.js';
import { AdmissionChain, defaultStorageClassName } from '../../src/apiserver/admission/chain.js';
import { ServiceAllocator, parseCidr } from '../../src/apiserver/admission/serviceips.js';

// The DefaultStorageClass admission plugin and the initial status of volumes and claims, as a user reads
// them back after `kubectl create`.

function storageClass(name: string, created: string, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name, creationTimestamp: created, annotations }, provisioner: 'x' } as KubeObject;
}

const DEFAULT = { 'storageclass.kubernetes.io/is-default-class': 'true' };

test('the default class: annotated true (GA or beta annotation), newest wins, ties by name', () => {
  assert.equal(defaultStorageClassName([]), undefined);
  assert.equal(defaultStorageClassName([storageClass('a', '2026-01-01T00:00:00Z'), storageClass('b', '2026-01-02T00:00:00Z', { 'storageclass.kubernetes.io/is-default-class': 'false' })]), undefined);
  assert.equal(defaultStorageClassName([storageClass('old', '2026-01-01T00:00:00Z', DEFAULT), storageClass('new', '2026-02-01T00:00:00Z', DEFAULT), storageClass('plain', '2026-03-01T00:00:00Z')]), 'new');
  assert.equal(defaultStorageClassName([storageClass('beta', '2026-01-01T00:00:00Z', { 'storageclass.beta.kubernetes.io/is-default-class': 'true' })]), 'beta');
  assert.equal(defaultStorageClassName([storageClass('z', '2026-01-01T00:00:00Z', DEFAULT), storageClass('m', '2026-01-01T00:00:00Z', DEFAULT)]), 'm');
});

function chain(classes: KubeObject[]): AdmissionChain {
  const c = new AdmissionChain(new ServiceAllocator(parseCidr('10.43.0.0/16'), { min: 30000, max: 32767 }), { defaultTolerationSeconds: 300 });
  c.setStorageClassSource(async () => classes);
  return c;
}

function claim(name: string, storageClassName?: string | null): KubeObject {
  const spec: Record<string, unknown> = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
  if (storageClassName !== undefined) spec.storageClassName = storageClassName;
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid: 'u' }, spec, status: { phase: 'Bound' } } as KubeObject;
}

const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const PVS = findResource('', 'v1', 'persistentvolumes')!;

test('a claim naming no class gets the default one and starts Pending', async () => {
  const c = chain([storageClass('local-path', '2026-01-01T00:00:00Z', DEFAULT), storageClass('fast', '2026-01-02T00:00:00Z')]);
  const pvc = claim('data');
  await c.mutate('create', PVCS, pvc, undefined, false);
  assert.equal((pvc.spec as { storageClassName?: string }).storageClassName, 'local-path');
  assert.deepEqual(pvc.status, { phase: 'Pending' }, 'status a client sent is reset');
});

test('a claim that names a class, or asks for none with "", keeps its choice', async () => {
  const c = chain([storageClass('local-path', '2026-01-01T00:00:00Z', DEFAULT)]);
  const named = claim('a', 'fast');
  await c.mutate('create', PVCS, named, undefined, false);
  assert.equal((named.spec as { storageClassName?: string }).storageClassName, 'fast');
  const none = claim('b', '');
  await c.mutate('create', PVCS, none, undefined, false);
  assert.equal((none.spec as { storageClassName?: string }).storageClassName, '');
});

test('without a default class the claim stays classless', async () => {
  const pvc = claim('data');
  await chain([storageClass('fast', '2026-01-01T00:00:00Z')]).mutate('create', PVCS, pvc, undefined, false);
  assert.equal((pvc.spec as { storageClassName?: string }).storageClassName, undefined);
});

test('a new PersistentVolume is Pending, with the time of that phase', async () => {
  const pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv1', uid: 'u' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/srv' } }, status: { phase: 'Bound' } } as KubeObject;
  const before = Date.now() - 1000;
  await chain([]).mutate('create', PVS, pv, undefined, false);
  const status = pv.status as { phase?: string; lastPhaseTransitionTime?: string };
  assert.equal(status.phase, 'Pending');
  assert.match(status.lastPhaseTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Date.parse(status.lastPhaseTransitionTime!) >= before);
});
