import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// The garbage collector through the real kubectl: `kubectl delete --cascade=background|foreground|orphan`
// on owners and dependents made by hand (the workload controllers are off so nothing else touches them),
// then through the deployment and replicaset controllers.

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'deployment,replicaset,scheduler'] });
});

after(async () => {
  await c?.stop();
});

async function apply(yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function uidOf(kind: string, name: string, ns = 'default'): Promise<string> {
  return (await c.k('get', kind, name, '-n', ns, '-o', 'jsonpath={.metadata.uid}')).trim();
}

async function names(kind: string, selector: string): Promise<string[]> {
  const out = await c.k('get', kind, '-l', selector, '-o', 'jsonpath={.items[*].metadata.name}');
  return out.split(/\s+/).filter(Boolean).sort();
}

async function exists(kind: string, name: string, ns = 'default'): Promise<boolean> {
  const r = await c.kubectl(['get', kind, name, '-n', ns, '-o', 'name']);
  if (r.code === 0) return true;
  assert.match(r.stderr, /NotFound/);
  return false;
}

function ownerRef(apiVersion: string, kind: string, name: string, uid: string, block = true): string {
  return `[{apiVersion: ${apiVersion}, kind: ${kind}, name: ${name}, uid: ${uid}, controller: true, blockOwnerDeletion: ${block}}]`;
}

/** Deployment → ReplicaSet → two pods, linked the way the controllers link them. */
async function makeChain(app: string): Promise<void> {
  await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: ${app}, labels: {app: ${app}}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec: {containers: [{name: c, image: nginx}]}
`);
  const dUid = await uidOf('deployment', app);
  await apply(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${app}-rs
  labels: {app: ${app}}
  ownerReferences: ${ownerRef('apps/v1', 'Deployment', app, dUid)}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec: {containers: [{name: c, image: nginx}]}
`);
  const rsUid = await uidOf('replicaset', `${app}-rs`);
  for (const i of [1, 2]) {
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: ${app}-rs-${i}
  labels: {app: ${app}}
  ownerReferences: ${ownerRef('apps/v1', 'ReplicaSet', `${app}-rs`, rsUid)}
spec: {containers: [{name: c, image: nginx}]}
`);
  }
  assert.deepEqual(await names('rs', `app=${app}`), [`${app}-rs`]);
  assert.deepEqual(await names('pods', `app=${app}`), [`${app}-rs-1`, `${app}-rs-2`]);
}

test('background: kubectl delete deployment removes its ReplicaSets and their pods', async () => {
  await makeChain('bg');
  await c.k('delete', 'deployment', 'bg');
  await waitFor('the ReplicaSet and pods of bg to be collected', async () => (await names('rs,pods', 'app=bg')).length === 0);
});

test('foreground: kubectl delete --cascade=foreground returns once the dependents are gone', async () => {
  await makeChain('fg');
  const out = await c.k('delete', 'deployment', 'fg', '--cascade=foreground');
  assert.match(out, /deployment.apps "fg" deleted/);
  // No polling: the deployment could only go after its ReplicaSet, which could only go after its pods.
  assert.deepEqual(await names('rs,pods', 'app=fg'), []);
});

test('foreground: a blocking dependent holds its owner, a non-blocking one does not', async () => {
  await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: holder}\n');
  let uid = await uidOf('configmap', 'holder');
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: held, finalizers: [example.com/hold], ownerReferences: ${ownerRef('v1', 'ConfigMap', 'holder', uid)}}
`);
  await c.k('delete', 'configmap', 'holder', '--cascade=foreground', '--wait=false');
  // The collector deletes the dependent; its finalizer keeps it, and the owner waits for it.
  await waitFor('the dependent to be deleted', async () => (await c.k('get', 'configmap', 'held', '-o', 'jsonpath={.metadata.deletionTimestamp}')).trim() !== '');
  const owner = JSON.parse(await c.k('get', 'configmap', 'holder', '-o', 'json')) as { metadata: { finalizers?: string[]; deletionTimestamp?: string } };
  assert.deepEqual(owner.metadata.finalizers, ['foregroundDeletion']);
  assert.ok(owner.metadata.deletionTimestamp);
  await c.k('patch', 'configmap', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
  await waitFor('the owner to go once its dependent is gone', async () => !(await exists('configmap', 'holder')));

  await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: holder2}\n');
  uid = await uidOf('configmap', 'holder2');
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: loose, finalizers: [example.com/hold], ownerReferences: ${ownerRef('v1', 'ConfigMap', 'holder2', uid, false)}}
`);
  await c.k('delete', 'configmap', 'holder2', '--cascade=foreground');
  assert.ok(await exists('configmap', 'loose'), 'the non-blocking dependent is still there (held by its own finalizer)');
  await waitFor('the non-blocking dependent to be deleted too', async () => (await c.k('get', 'configmap', 'loose', '-o', 'jsonpath={.metadata.deletionTimestamp}')).trim() !== '');
  await c.k('patch', 'configmap', 'loose', '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
});

test('orphan: kubectl delete --cascade=orphan keeps the dependents and strips their references', async () => {
  await makeChain('or');
  await c.k('delete', 'replicaset', 'or-rs', '--cascade=orphan');
  assert.deepEqual(await names('pods', 'app=or'), ['or-rs-1', 'or-rs-2']);
  for (const p of ['or-rs-1', 'or-rs-2']) {
    assert.equal((await c.k('get', 'pod', p, '-o', 'jsonpath={.metadata.ownerReferences}')).trim(), '', `${p} has no owner any more`);
  }
  // The deployment keeps nothing it could collect now; deleting it leaves the orphaned pods alone.
  await c.k('delete', 'deployment', 'or');
  assert.deepEqual(await names('pods', 'app=or'), ['or-rs-1', 'or-rs-2']);
  await c.k('delete', 'pods', '-l', 'app=or');
});

test('an owner that never existed, or exists with another uid, does not keep its dependents', async () => {
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: dangling, ownerReferences: ${ownerRef('apps/v1', 'ReplicaSet', 'nowhere', '2a1d6a42-0000-4000-8000-000000000000')}}
`);
  await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: reborn}\n');
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: stale-child, ownerReferences: ${ownerRef('v1', 'ConfigMap', 'reborn', '2a1d6a42-0000-4000-8000-000000000001')}}
`);
  await waitFor('dependents of missing owners to be collected', async () => !(await exists('configmap', 'dangling')) && !(await exists('configmap', 'stale-child')));
  assert.ok(await exists('configmap', 'reborn'));
});

test('an owner in another namespace counts as absent and is reported', async () => {
  await c.k('create', 'namespace', 'gc-a');
  await c.k('create', 'namespace', 'gc-b');
  await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: boss, namespace: gc-a}\n');
  const uid = await uidOf('configmap', 'boss', 'gc-a');
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: worker, namespace: gc-b, ownerReferences: ${ownerRef('v1', 'ConfigMap', 'boss', uid)}}
`);
  await waitFor('the cross-namespace dependent to be collected', async () => !(await exists('configmap', 'worker', 'gc-b')));
  assert.ok(await exists('configmap', 'boss', 'gc-a'));
  const events = await waitFor('an OwnerRefInvalidNamespace event', async () => {
    const out = await c.k('get', 'events', '-n', 'gc-b', '--field-selector', 'reason=OwnerRefInvalidNamespace', '-o', 'jsonpath={.items[*].message}');
    return out.trim() || undefined;
  });
  assert.equal(events, `ownerRef [v1/ConfigMap, namespace: gc-b, name: boss, uid: ${uid}] does not exist in namespace "gc-b"`);
});

test('with the workload controllers: kubectl delete deployment removes what they made', async () => {
  const w = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  try {
    const count = async (what: string, sel: string) => (await w.k('get', what, '-l', sel, '-o', 'name')).split('\n').filter(Boolean).length;
    await w.k('create', 'deployment', 'web', '--image=nginx', '--replicas=2');
    await waitFor('the deployment controller to make a ReplicaSet and pods', async () => (await count('rs', 'app=web')) === 1 && (await count('pods', 'app=web')) === 2, 60_000);
    await w.k('delete', 'deployment', 'web');
    await waitFor('the ReplicaSet and pods to be collected', async () => (await count('rs,pods', 'app=web')) === 0);

    await w.k('create', 'deployment', 'fore', '--image=nginx', '--replicas=2');
    await waitFor('the ReplicaSet and pods of fore', async () => (await count('rs', 'app=fore')) === 1 && (await count('pods', 'app=fore')) === 2, 60_000);
    await w.k('delete', 'deployment', 'fore', '--cascade=foreground');
    assert.equal(await count('rs,pods', 'app=fore'), 0);
  } finally {
    await w.stop();
  }
});
