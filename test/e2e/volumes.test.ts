import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// The local-path provisioner through the real kubectl: a default StorageClass, claims bound to hostPath
// volumes at once, and the volume deleted with its claim (reclaim policy Delete).

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
});

after(async () => {
  await c?.stop();
});

async function apply(yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

test('the default StorageClass local-path exists', async () => {
  const out = await waitFor('StorageClass local-path', async () => {
    const r = await c.kubectl(['get', 'storageclass']);
    return r.code === 0 && /local-path/.test(r.stdout) ? r.stdout : undefined;
  });
  assert.match(out, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE/m);
  assert.match(out, /^local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+Immediate\s/m);
});

test('a claim without a class is bound to a new local-path volume; deleting it deletes the volume', async () => {
  await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
`);
  const uid = (await c.k('get', 'pvc', 'data', '-o', 'jsonpath={.metadata.uid}')).trim();
  const row = await waitFor('pvc data Bound', async () => {
    const out = await c.k('get', 'pvc', 'data');
    return /\sBound\s/.test(out) ? out : undefined;
  });
  assert.match(row, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE/m);
  assert.match(row, new RegExp(`^data\\s+Bound\\s+pvc-${uid}\\s+2Gi\\s+RWO\\s+local-path\\s+<unset>\\s`, 'm'));

  const pv = JSON.parse(await c.k('get', 'pv', `pvc-${uid}`, '-o', 'json')) as {
    metadata: { annotations: Record<string, string> };
    spec: { hostPath: { path: string; type: string }; capacity: { storage: string }; claimRef: { name: string; namespace: string; uid: string }; persistentVolumeReclaimPolicy: string; storageClassName: string; accessModes: string[] };
    status: { phase: string };
  };
  assert.deepEqual(pv.spec.hostPath, { path: `/var/lib/kite/storage/pvc-${uid}_default_data`, type: 'DirectoryOrCreate' });
  assert.equal(pv.spec.capacity.storage, '2Gi');
  assert.deepEqual(pv.spec.accessModes, ['ReadWriteOnce']);
  assert.deepEqual([pv.spec.claimRef.namespace, pv.spec.claimRef.name, pv.spec.claimRef.uid], ['default', 'data', uid]);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
  assert.equal(pv.spec.storageClassName, 'local-path');
  assert.equal(pv.metadata.annotations['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
  assert.equal(pv.status.phase, 'Bound');
  const pvRow = await c.k('get', 'pv', `pvc-${uid}`);
  assert.match(pvRow, new RegExp(`^pvc-${uid}\\s+2Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s`, 'm'));

  const pvc = JSON.parse(await c.k('get', 'pvc', 'data', '-o', 'json')) as { metadata: { annotations: Record<string, string> }; status: { phase: string; capacity: { storage: string }; accessModes: string[] } };
  assert.equal(pvc.metadata.annotations['pv.kubernetes.io/bind-completed'], 'yes');
  assert.deepEqual(pvc.status, { phase: 'Bound', capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'] });

  const events = await waitFor('ProvisioningSucceeded event', async () => {
    const out = await c.k('describe', 'pvc', 'data');
    return /ProvisioningSucceeded/.test(out) ? out : undefined;
  });
  assert.match(events, new RegExp(`Normal\\s+ProvisioningSucceeded\\s+.*Successfully provisioned volume pvc-${uid}`));

  await c.k('delete', 'pvc', 'data');
  await waitFor('PV deleted with its claim', async () => {
    const r = await c.kubectl(['get', 'pv', `pvc-${uid}`]);
    return r.code !== 0 && /NotFound/.test(r.stderr);
  });
});

test('claims of another class, or with no class (""), are left alone', async () => {
  await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: manual}
spec: {accessModes: [ReadWriteOnce], storageClassName: "", resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fancy}
spec: {accessModes: [ReadWriteMany], storageClassName: fancy, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: explicit}
spec: {accessModes: [ReadWriteMany], storageClassName: local-path, resources: {requests: {storage: 100Mi}}}
`);
  // The explicit claim is bound: once it is, the controller has seen the others too.
  await waitFor('pvc explicit Bound', async () => /^explicit\s+Bound\s+pvc-\S+\s+100Mi\s+RWX\s+local-path/m.test(await c.k('get', 'pvc', 'explicit')));
  const out = await c.k('get', 'pvc', 'manual', 'fancy', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.volumeName}{"\\n"}{end}');
  assert.deepEqual(out.trim().split('\n').sort(), ['fancy=', 'manual=']);
  await c.k('delete', 'pvc', 'manual', 'fancy', 'explicit');
});
