import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { REVISION_HASH_LABEL, templateOf, templatePatch } from '../../src/controllers/apps/history.js';
import { computeHash } from '../../src/controllers/apps/podutil.js';
import {
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  claimOwnerRefs,
  claimsFor,
  identityMatches,
  newStatefulSetPod,
  newVersionedPod,
  parseOrdinal,
  replicaStatus,
  storageMatches,
} from '../../src/controllers/apps/statefulsetplan.js';

// StatefulSet identities, claims and revisions.

function sts(extra: Partial<NonNullable<StatefulSet['spec']>> = {}, status?: StatefulSet['status']): StatefulSet {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'set-uid', generation: 3 },
    spec: {
      serviceName: 'nginx',
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }], volumes: [{ name: 'www', emptyDir: {} }, { name: 'cfg', emptyDir: {} }] } },
      volumeClaimTemplates: [{ metadata: { name: 'www', labels: { tier: 'data' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...extra,
    },
    ...(status ? { status } : {}),
  };
}

test('ordinals come from the pod name', () => {
  assert.deepEqual(parseOrdinal('web-12'), ['web', 12]);
  assert.deepEqual(parseOrdinal('my-web-0'), ['my-web', 0]);
  assert.deepEqual(parseOrdinal('web-01'), ['web-01', -1]);
  assert.deepEqual(parseOrdinal('web'), ['web', -1]);
});

test('a new pod has its stable identity and mounts its own claim', () => {
  const set = sts();
  const pod = newStatefulSetPod(set, 2, 'web-abc');
  assert.equal(pod.metadata?.name, 'web-2');
  assert.equal(pod.metadata?.generateName, undefined);
  assert.deepEqual(pod.metadata?.labels, { app: 'web', [REVISION_HASH_LABEL]: 'web-abc', [POD_NAME_LABEL]: 'web-2', [POD_INDEX_LABEL]: '2' });
  assert.equal(pod.spec?.hostname, 'web-2');
  assert.equal(pod.spec?.subdomain, 'nginx');
  assert.deepEqual(pod.spec?.volumes, [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-2' } }, { name: 'cfg', emptyDir: {} }]);
  assert.deepEqual(pod.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal(identityMatches(set, pod), true);
  assert.equal(storageMatches(set, pod), true);
  const drifted: Pod = structuredClone(pod);
  drifted.metadata!.labels![POD_NAME_LABEL] = 'other';
  assert.equal(identityMatches(set, drifted), false);
});

test('claims carry the template and selector labels', () => {
  const set = sts();
  const [claim] = claimsFor(set, newStatefulSetPod(set, 0, 'r'));
  assert.equal(claim?.metadata?.name, 'www-web-0');
  assert.deepEqual(claim?.metadata?.labels, { tier: 'data', app: 'web' });
  assert.deepEqual(claim?.spec?.resources?.requests, { storage: '1Gi' });
});

test('retention policy decides who owns a claim', () => {
  const claim: PersistentVolumeClaim = { metadata: { name: 'www-web-1' } };
  const live = { ...newStatefulSetPod(sts(), 1, 'r'), metadata: { ...newStatefulSetPod(sts(), 1, 'r').metadata, uid: 'pod-1' } };
  const condemned = { ...newStatefulSetPod(sts(), 4, 'r'), metadata: { ...newStatefulSetPod(sts(), 4, 'r').metadata, uid: 'pod-4' } };
  assert.equal(claimOwnerRefs(sts(), live, claim), undefined);
  const onDelete = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
  assert.deepEqual(claimOwnerRefs(onDelete, live, claim), [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }]);
  const onScale = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
  assert.equal(claimOwnerRefs(onScale, live, claim), undefined);
  assert.deepEqual(claimOwnerRefs(onScale, condemned, { metadata: { name: 'www-web-4' } }), [{ apiVersion: 'v1', kind: 'Pod', name: 'web-4', uid: 'pod-4' }]);
  const both = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
  const owned: PersistentVolumeClaim = { metadata: { name: 'www-web-4', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }] } };
  assert.deepEqual(claimOwnerRefs(both, condemned, owned), [{ apiVersion: 'v1', kind: 'Pod', name: 'web-4', uid: 'pod-4' }]);
  // Back to Retain: the owners go.
  assert.deepEqual(claimOwnerRefs(sts(), live, owned), []);
});

test('ordinals below the partition keep the current revision', () => {
  const current = sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
  const update = structuredClone(current);
  update.spec!.template.spec!.containers[0]!.image = 'nginx:2';
  const p1 = newVersionedPod(current, update, 'web-old', 'web-new', 1);
  const p2 = newVersionedPod(current, update, 'web-old', 'web-new', 2);
  assert.equal(p1.metadata?.labels?.[REVISION_HASH_LABEL], 'web-old');
  assert.equal(p1.spec?.containers[0]?.image, 'nginx:1');
  assert.equal(p2.metadata?.labels?.[REVISION_HASH_LABEL], 'web-new');
  assert.equal(p2.spec?.containers[0]?.image, 'nginx:2');
  const onDelete = sts({ updateStrategy: { type: 'OnDelete' } });
  assert.equal(newVersionedPod(onDelete, update, 'web-old', 'web-new', 0).metadata?.labels?.[REVISION_HASH_LABEL], 'web-new');
});

test('status counts created, ready, available, current and updated pods', () => {
  const set = sts({ minReadySeconds: 10 });
  const now = Date.parse('2024-05-01T10:00:00Z');
  const mk = (ord: number, rev: string, readySince?: number, deleting = false): Pod => {
    const p = newStatefulSetPod(set, ord, rev);
    return {
      ...p,
      metadata: { ...p.metadata, ...(deleting ? { deletionTimestamp: new Date(now).toISOString() } : {}) },
      status: { phase: 'Running', conditions: readySince === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(readySince).toISOString() }] },
    };
  };
  const st = replicaStatus(set, [mk(0, 'a', now - 60_000), mk(1, 'a', now - 1_000), mk(2, 'b'), mk(3, 'b', now - 60_000, true)], 'a', 'b', now);
  assert.deepEqual(st, { replicas: 4, readyReplicas: 3, availableReplicas: 2, currentReplicas: 2, updatedReplicas: 1 });
});

test('revision data restores the template; equal templates hash equally', () => {
  const t = sts().spec!.template;
  const data = templatePatch(t);
  assert.equal(data.spec.template.$patch, 'replace');
  assert.deepEqual(templateOf({ revision: 1, data: data as never }), t);
  const reordered = { spec: { template: { ...data.spec.template } } };
  assert.equal(computeHash(data), computeHash(reordered));
  assert.notEqual(computeHash(data), computeHash(data, 1));
  assert.match(computeHash(data), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});
