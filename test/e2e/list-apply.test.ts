import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../helpers/cluster.js';

// `kubectl apply -f` of a `kind: List`. kubectl validates a List client-side (never server-side) against the
// OpenAPI v2 document in its protobuf form, so this is what proves kite serves that document correctly.

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
});

after(async () => {
  await c?.stop();
});

const LIST = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: list-settings}
  data: {mode: fast}
- apiVersion: v1
  kind: Service
  metadata: {name: list-web}
  spec:
    selector: {app: list-web}
    ports: [{port: 80, targetPort: 8080}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: list-web}
  spec:
    replicas: 2
    selector: {matchLabels: {app: list-web}}
    template:
      metadata: {labels: {app: list-web}}
      spec:
        containers: [{name: web, image: busybox, ports: [{containerPort: 8080}]}]
`;

test('kubectl apply -f of a List with three objects creates them, then finds them unchanged', async () => {
  const r = await c.kubectl(['apply', '-f', '-'], { input: LIST });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(r.stdout.trim().split('\n'), ['configmap/list-settings created', 'service/list-web created', 'deployment.apps/list-web created']);
  assert.equal((await c.k('get', 'configmap', 'list-settings', '-o', 'jsonpath={.data.mode}')), 'fast');
  assert.equal((await c.k('get', 'deployment', 'list-web', '-o', 'jsonpath={.spec.replicas}')), '2');
  assert.equal((await c.k('get', 'service', 'list-web', '-o', 'jsonpath={.spec.ports[0].targetPort}')), '8080');

  const again = await c.kubectl(['apply', '-f', '-'], { input: LIST });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.stdout.trim().split('\n'), ['configmap/list-settings unchanged', 'service/list-web unchanged', 'deployment.apps/list-web unchanged']);
});

test('a List with mistakes is refused by client-side validation and creates nothing', async () => {
  const bad = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: list-bad-cm}
  colour: blue
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: list-bad}
  spec:
    replicas: "two"
    selector: {matchLabels: {app: b}}
    template:
      metadata: {labels: {app: b}}
      spec: {containers: [{image: busybox}]}
`;
  const r = await c.kubectl(['apply', '-f', '-'], { input: bad });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error validating data: /);
  assert.match(r.stderr, /unknown field "colour" in io\.k8s\.api\.core\.v1\.ConfigMap/);
  assert.match(r.stderr, /invalid type for io\.k8s\.api\.apps\.v1\.DeploymentSpec\.replicas: got "string", expected "integer"/);
  assert.match(r.stderr, /missing required field "name" in io\.k8s\.api\.core\.v1\.Container/);
  assert.match(r.stderr, /turn validation off with --validate=false/);
  assert.notEqual((await c.kubectl(['get', 'configmap', 'list-bad-cm'])).code, 0);

  // With validation off the same List goes to the server, which drops what it does not know.
  const ok = await c.kubectl(['apply', '--validate=false', '-f', '-'], { input: bad.replace('"two"', '2').replace('{image: busybox}', '{name: b, image: busybox}') });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /configmap\/list-bad-cm created/);
});

test('GET /openapi/v2 still answers JSON to clients that ask for JSON', async () => {
  const json = JSON.parse(await c.k('get', '--raw', '/openapi/v2')) as { swagger: string };
  assert.equal(json.swagger, '2.0');
});
