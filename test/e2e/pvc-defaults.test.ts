import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../helpers/cluster.js';

// What `kubectl get pvc,pv,ingress` shows right after creation: a claim without a class gets the default
// StorageClass (the newest, when several are marked default), and both objects start Pending; an Ingress
// without a class gets the default IngressClass.

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler,local-path-provisioner'] });
});

after(async () => {
  await c?.stop();
});

const classes = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: slow
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/none
`;

const newer = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/none
`;

function claim(name: string, extra = ''): string {
  return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
${extra}`;
}

test('a claim without storageClassName gets the default class; "" and explicit names are kept', async () => {
  const none = await c.kubectl(['apply', '-f', '-'], { input: claim('before-default') });
  assert.equal(none.code, 0, none.stderr);
  assert.equal(await c.k('get', 'pvc', 'before-default', '-o', 'jsonpath={.spec.storageClassName}'), '');

  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: classes })).code, 0);
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: claim('one') })).code, 0);
  assert.equal(await c.k('get', 'pvc', 'one', '-o', 'jsonpath={.spec.storageClassName}'), 'slow');

  // Two defaults: the newest wins ("fast" is also first by name, the tie-break within one second).
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: newer })).code, 0);
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: claim('two') })).code, 0);
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: claim('classless', '  storageClassName: ""\n') })).code, 0);
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: claim('chosen', '  storageClassName: slow\n') })).code, 0);
  const row = (name: string) => c.k('get', 'pvc', name, '-o', 'jsonpath={.spec.storageClassName}/{.status.phase}');
  assert.equal(await row('two'), 'fast/Pending');
  assert.equal(await row('classless'), '/Pending');
  assert.equal(await row('chosen'), 'slow/Pending');
  assert.match(await c.k('get', 'pvc', 'two'), /^two\s+Pending\s+fast\s+/m);
});

test('a new PersistentVolume is Pending', async () => {
  const pv = `apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-defaults}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/pv-defaults}
`;
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: pv })).code, 0);
  const status = JSON.parse(await c.k('get', 'pv', 'pv-defaults', '-o', 'jsonpath={.status}')) as { phase: string; lastPhaseTransitionTime: string };
  assert.equal(status.phase, 'Pending');
  assert.ok(Date.parse(status.lastPhaseTransitionTime) > Date.now() - 60_000);
});

test('an Ingress without a class gets the default IngressClass; one that names a class keeps it', async () => {
  const ingressClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: web-default
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: example.com/ingress}
`;
  const ingress = (name: string, extra = '') => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
${extra}  defaultBackend: {service: {name: web, port: {number: 80}}}
`;
  assert.equal((await c.kubectl(['apply', '-f', '-'], { input: ingressClass })).code, 0);
  const created = await c.kubectl(['apply', '-f', '-'], { input: ingress('plain') + '---\n' + ingress('chosen', '  ingressClassName: other\n') });
  assert.equal(created.code, 0, created.stderr);
  assert.match(await c.k('get', 'ingress', 'plain'), /^plain\s+web-default\s+\*\s+/m);
  assert.equal(await c.k('get', 'ingress', 'chosen', '-o', 'jsonpath={.spec.ingressClassName}'), 'other');
});
