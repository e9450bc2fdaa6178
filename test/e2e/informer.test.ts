import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startCluster, waitFor } from '../helpers/cluster.js';

// The official JavaScript client's informer: adds, updates and deletes in order, and it carries on when the
// server restarts (re-list, re-watch) without losing changes made while it was down.

test('a @kubernetes/client-node informer follows changes across a server restart', async () => {
  const c = await startCluster();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const seen: string[] = [];
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  // kube-root-ca.crt is the root-ca-cert-publisher's, in every namespace as in Kubernetes: not this test's.
  const ours = (o: k8s.V1ConfigMap) => o.metadata?.name !== 'kube-root-ca.crt';
  informer.on('add', (o) => ours(o) && seen.push(`add ${o.metadata?.name} ${o.data?.v ?? ''}`));
  informer.on('update', (o) => ours(o) && seen.push(`update ${o.metadata?.name} ${o.data?.v ?? ''}`));
  informer.on('delete', (o) => ours(o) && seen.push(`delete ${o.metadata?.name}`));
  // The informer restarts itself after errors, as client-go's reflector does.
  let stopped = false;
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void (stopped ? undefined : informer.start().catch(() => undefined)), 200);
  });
  try {
    await informer.start();
    const cm = (name: string, v: string): k8s.V1ConfigMap => ({ metadata: { name }, data: { v } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('a', '1') });
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: cm('a', '2') });
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('b', '1') });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    const expected = ['add a 1', 'update a 2', 'add b 1', 'delete a'];
    await waitFor('the informer to see four changes', async () => seen.length >= 4);
    assert.deepEqual(seen.slice(0, 4), expected);

    await c.restart();
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('c', '1') });
    await core.replaceNamespacedConfigMap({ name: 'b', namespace: 'default', body: cm('b', '2') });
    await waitFor('the informer to see changes after the restart', async () => seen.includes('add c 1') && seen.includes('update b 2'), 60_000);
    assert.equal(seen.filter((s) => s === 'add a 1').length, 1, `no duplicate adds: ${seen.join(', ')}`);
    assert.deepEqual(informer.list().filter(ours).map((o) => o.metadata?.name).sort(), ['b', 'c']);
  } finally {
    stopped = true;
    await informer.stop();
    await c.stop();
  }
});
