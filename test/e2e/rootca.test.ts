import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// The root-ca-cert-publisher: every namespace holds kube-root-ca.crt with the cluster CA, which a pod's
// kube-api-access volume projects as ca.crt. kubectl can delete or edit it; the controller puts it back.

let c: Cluster;
let ca: string;

before(async () => {
  c = await startCluster();
  ca = readFileSync(join(c.dataDir, 'server', 'tls', 'ca.crt'), 'utf8');
});

after(async () => {
  await c?.stop();
});

interface ConfigMap {
  metadata: { uid: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

async function rootCa(ns: string): Promise<ConfigMap | undefined> {
  const r = await c.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as ConfigMap) : undefined;
}

async function waitPublished(ns: string, not?: (cm: ConfigMap) => boolean): Promise<ConfigMap> {
  return waitFor(`kube-root-ca.crt in ${ns} to hold the cluster CA`, async () => {
    const cm = await rootCa(ns);
    return cm && JSON.stringify(cm.data) === JSON.stringify({ 'ca.crt': ca }) && !not?.(cm) ? cm : undefined;
  }, 20_000, 200);
}

test('the system namespaces and a new namespace get kube-root-ca.crt with the cluster CA', async () => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await waitPublished(ns);
  await c.k('create', 'namespace', 'rootca-a');
  const cm = await waitPublished('rootca-a');
  assert.match(cm.metadata.annotations?.['kubernetes.io/description'] ?? '', /CA bundle .* verify the kube-apiserver/);
  const listed = await c.k('get', 'configmap', '-n', 'rootca-a');
  assert.match(listed, /^kube-root-ca\.crt\s+1\s+/m);
});

test('a deleted kube-root-ca.crt comes back', async () => {
  await c.k('create', 'namespace', 'rootca-b');
  const first = await waitPublished('rootca-b');
  await c.k('delete', 'configmap', 'kube-root-ca.crt', '-n', 'rootca-b');
  const again = await waitPublished('rootca-b', (cm) => cm.metadata.uid === first.metadata.uid);
  assert.notEqual(again.metadata.uid, first.metadata.uid);
});

test('an edited kube-root-ca.crt is put back to exactly the CA', async () => {
  await c.k('create', 'namespace', 'rootca-c');
  await waitPublished('rootca-c');
  await c.k('patch', 'configmap', 'kube-root-ca.crt', '-n', 'rootca-c', '--type', 'merge', '-p', '{"data":{"ca.crt":"not a certificate","extra":"x"}}');
  const fixed = await waitPublished('rootca-c');
  assert.deepEqual(fixed.data, { 'ca.crt': ca });
});
