import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// Namespace lifecycle and the default ServiceAccount, through the real kubectl.

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
});

after(async () => {
  await c?.stop();
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function conditions(ns: string): Promise<Map<string, Condition>> {
  const o = JSON.parse(await c.k('get', 'namespace', ns, '-o', 'json')) as { status?: { conditions?: Condition[] } };
  return new Map((o.status?.conditions ?? []).map((x) => [x.type, x]));
}

test('kubectl delete namespace empties it and returns once it is gone', async () => {
  await c.k('create', 'namespace', 'doomed');
  await c.k('create', 'configmap', 'cm', '-n', 'doomed', '--from-literal=a=b');
  await c.k('create', 'secret', 'generic', 's', '-n', 'doomed', '--from-literal=a=b');
  await c.k('create', 'service', 'clusterip', 'svc', '-n', 'doomed', '--tcp=80:8080');
  await c.k('create', 'deployment', 'web', '-n', 'doomed', '--image=nginx');
  await c.k('run', 'solo', '-n', 'doomed', '--image=nginx');
  await c.k('create', 'role', 'reader', '-n', 'doomed', '--verb=get', '--resource=pods');
  const out = await c.k('delete', 'namespace', 'doomed');
  assert.match(out, /namespace "doomed" deleted/);
  const r = await c.kubectl(['get', 'namespace', 'doomed']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /namespaces "doomed" not found/);
  for (const kind of ['configmaps', 'secrets', 'services', 'deployments', 'pods', 'roles', 'serviceaccounts', 'endpoints']) {
    assert.equal((await c.k('get', kind, '-n', 'doomed', '-o', 'name')).trim(), '', `no ${kind} left`);
  }
});

test('a terminating namespace refuses new content and says what it waits for', async () => {
  await c.k('create', 'namespace', 'slow');
  await c.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: slow, finalizers: [example.com/hold]}\n' });
  await c.k('delete', 'namespace', 'slow', '--wait=false');
  assert.equal((await c.k('get', 'namespace', 'slow', '-o', 'jsonpath={.status.phase}')).trim(), 'Terminating');

  const refused = await c.kubectl(['create', 'configmap', 'late', '-n', 'slow']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /configmaps "[^"]*" is forbidden: unable to create new content in namespace slow because it is being terminated/);

  const conds = await waitFor('the namespace conditions to report the held configmap', async () => {
    const m = await conditions('slow');
    return m.get('NamespaceFinalizersRemaining')?.status === 'True' ? m : undefined;
  });
  assert.deepEqual([...conds.keys()], ['NamespaceDeletionDiscoveryFailure', 'NamespaceDeletionGroupVersionParsingFailure', 'NamespaceDeletionContentFailure', 'NamespaceContentRemaining', 'NamespaceFinalizersRemaining']);
  assert.deepEqual(conds.get('NamespaceContentRemaining'), { ...conds.get('NamespaceContentRemaining'), status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: configmaps. has 1 resource instances' });
  assert.deepEqual(conds.get('NamespaceFinalizersRemaining'), { ...conds.get('NamespaceFinalizersRemaining'), status: 'True', reason: 'SomeFinalizerRemain', message: 'Some finalizers are remaining: example.com/hold in 1 resource instances' });
  assert.deepEqual(conds.get('NamespaceDeletionDiscoveryFailure'), { ...conds.get('NamespaceDeletionDiscoveryFailure'), status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' });
  assert.deepEqual(conds.get('NamespaceDeletionContentFailure'), { ...conds.get('NamespaceDeletionContentFailure'), status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' });
  const described = await c.k('describe', 'namespace', 'slow');
  assert.match(described, /Status:\s+Terminating/);

  await c.k('patch', 'configmap', 'held', '-n', 'slow', '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
  await waitFor('the namespace to go once its content is gone', async () => (await c.kubectl(['get', 'namespace', 'slow'])).code !== 0);
});

test('every namespace gets a default ServiceAccount, recreated when deleted', async () => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await waitFor(`the default ServiceAccount in ${ns}`, async () => (await c.kubectl(['get', 'serviceaccount', 'default', '-n', ns])).code === 0);
  }
  await c.k('create', 'namespace', 'team');
  await waitFor('the default ServiceAccount in team', async () => (await c.kubectl(['get', 'serviceaccount', 'default', '-n', 'team'])).code === 0);
  const first = (await c.k('get', 'serviceaccount', 'default', '-n', 'team', '-o', 'jsonpath={.metadata.uid}')).trim();
  assert.match(await c.k('get', 'serviceaccounts', '-n', 'team'), /^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+/);
  await c.k('delete', 'serviceaccount', 'default', '-n', 'team');
  await waitFor('the default ServiceAccount to come back', async () => {
    const r = await c.kubectl(['get', 'serviceaccount', 'default', '-n', 'team', '-o', 'jsonpath={.metadata.uid}']);
    return r.code === 0 && r.stdout.trim() !== first;
  });
});
