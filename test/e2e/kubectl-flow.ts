import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { TestContext } from 'node:test';
import { type Cluster, run } from '../helpers/cluster.js';

// The core kubectl flow of the foundation issue, shared by the SQLite and etcd suites: what a user types and
// what they see.

export function deploymentYaml(replicas: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghost
  labels:
    app: ghost
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ghost
  template:
    metadata:
      labels:
        app: ghost
    spec:
      containers:
      - name: ghost
        image: ${image}
        ports:
        - containerPort: 2368
        env:
        - name: A
          value: "1"
`;
}

function header(out: string): string[] {
  return out.split('\n')[0]!.trim().split(/\s{2,}/);
}

export async function coreFlow(t: TestContext, c: Cluster): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-flow-'));

  await t.test('kubectl version reports a 1.32 server', async () => {
    const out = await c.k('version');
    assert.match(out, /Server Version: v1\.32\./);
  });

  await t.test('api-resources lists the built-in kinds', async () => {
    const out = await c.k('api-resources');
    for (const r of ['pods', 'deployments', 'services', 'horizontalpodautoscalers', 'leases', 'clusterroles', 'storageclasses']) assert.match(out, new RegExp(`^${r}\\s`, 'm'));
    assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  });

  await t.test('cluster-info and /readyz', async () => {
    assert.match(await c.k('cluster-info'), /Kubernetes control plane is running at https:\/\/127\.0\.0\.1:/);
    assert.equal((await c.k('get', '--raw', '/readyz')).trim(), 'ok');
  });

  await t.test('explain deployment.spec.strategy', async () => {
    const out = await c.k('explain', 'deployment.spec.strategy');
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /rollingUpdate/);
    assert.match(out, /type\s+<string>/);
  });

  await t.test('create deployment (protobuf body) and get it', async () => {
    assert.match(await c.k('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2'), /deployment.apps\/web created/);
    const d = JSON.parse(await c.k('get', 'deployment', 'web', '-o', 'json')) as { spec: { replicas: number; strategy: { type: string; rollingUpdate: { maxSurge: string } }; template: { spec: { containers: Array<{ image: string; imagePullPolicy: string }> } } }; metadata: { generation: number } };
    assert.equal(d.spec.replicas, 2);
    assert.equal(d.spec.strategy.type, 'RollingUpdate');
    assert.equal(d.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(d.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
    assert.equal(d.metadata.generation, 1);
    const table = await c.k('get', 'deployments');
    assert.deepEqual(header(table), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    // Controllers create the pods at once; with no node none becomes available.
    assert.match(table, /^web\s+0\/2\s+[0-2]\s+0\s+\d+s$/m);
  });

  await t.test('kubectl run and get pods (wide, labels, all namespaces)', async () => {
    assert.match(await c.k('run', 'nginx', '--image=nginx:1.27', '--labels=run=nginx,tier=web'), /pod\/nginx created/);
    const out = await c.k('get', 'pods');
    assert.deepEqual(header(out), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.match(out, /^nginx\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const wide = await c.k('get', 'pods', '-o', 'wide');
    assert.deepEqual(header(wide), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    assert.match(await c.k('get', 'pods', '-l', 'tier=web', '-o', 'name'), /^pod\/nginx$/m);
    assert.equal((await c.k('get', 'pods', '-l', 'run=nginx,tier!=web', '-o', 'name')).trim(), '');
    const all = await c.k('get', 'pods', '-A');
    assert.match(all, /^NAMESPACE\s+NAME\s+READY/);
    assert.match(all, /^default\s+nginx\s/m);
    assert.equal(await c.k('get', 'pod', 'nginx', '-o', 'jsonpath={.spec.containers[0].image}'), 'nginx:1.27');
    const y = await c.k('get', 'pod', 'nginx', '-o', 'yaml');
    assert.match(y, /restartPolicy: Always/);
    assert.match(y, /terminationMessagePath: \/dev\/termination-log/);
  });

  await t.test('services: clusterip and nodeport', async () => {
    await c.k('create', 'service', 'clusterip', 'web', '--tcp=80:8080');
    await c.k('create', 'service', 'nodeport', 'web-np', '--tcp=80:8080', '--node-port=30080');
    const out = await c.k('get', 'services');
    assert.deepEqual(header(out), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.match(out, /^kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP/m);
    assert.match(out, /^web\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80\/TCP/m);
    assert.match(out, /^web-np\s+NodePort\s+10\.43\.\d+\.\d+\s+<none>\s+80:30080\/TCP/m);
    const dup = await c.kubectl(['create', 'service', 'nodeport', 'web-np2', '--tcp=80:8080', '--node-port=30080']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /provided port is already allocated/);
  });

  await t.test('get -w prints changes as they happen', async () => {
    const w = c.watch(['get', 'pods', '-w']);
    try {
      await w.waitFor(/^NAME\s+READY\s+STATUS/m);
      await c.k('run', 'watched', '--image=busybox:1.36');
      await w.waitFor(/^watched\s+0\/1\s+Pending/m);
      await c.k('delete', 'pod', 'watched');
      // The deletion shows as one more line for the pod.
      await w.waitFor(/^watched\s+0\/1\s+Pending[^]*^watched\s+0\/1\s+/m);
    } finally {
      w.stop();
    }
  });

  await t.test('apply -f twice keeps last-applied and updates; --server-side', async () => {
    const f = join(dir, 'ghost.yaml');
    writeFileSync(f, deploymentYaml(1, 'ghost:0.7.7'));
    assert.match(await c.k('apply', '-f', f), /deployment.apps\/ghost created/);
    writeFileSync(f, deploymentYaml(3, 'ghost:0.7.8'));
    const second = await c.kubectl(['apply', '-f', f]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /deployment.apps\/ghost configured/);
    assert.doesNotMatch(second.stderr, /warning/i);
    const d = JSON.parse(await c.k('get', 'deploy', 'ghost', '-o', 'json')) as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } }; metadata: { annotations: Record<string, string>; generation: number } };
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0]!.image, 'ghost:0.7.8');
    assert.match(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']!, /ghost:0.7.8/);
    assert.equal(d.metadata.generation, 2);
    assert.match(await c.k('apply', '-f', f), /deployment.apps\/ghost unchanged/);

    const ss = join(dir, 'ss.yaml');
    writeFileSync(ss, deploymentYaml(2, 'ghost:0.7.9').replace('name: ghost\n  labels', 'name: ghost-ss\n  labels'));
    assert.match(await c.k('apply', '--server-side', '-f', ss), /deployment.apps\/ghost-ss serverside-applied/);
    writeFileSync(ss, deploymentYaml(4, 'ghost:0.7.9').replace('name: ghost\n  labels', 'name: ghost-ss\n  labels'));
    assert.match(await c.k('apply', '--server-side', '-f', ss), /serverside-applied/);
    assert.equal(await c.k('get', 'deploy', 'ghost-ss', '-o', 'jsonpath={.spec.replicas}'), '4');
    const mf = await c.k('get', 'deploy', 'ghost-ss', '-o', 'jsonpath={.metadata.managedFields[*].manager}');
    assert.match(mf, /kubectl/);
  });

  await t.test('label, annotate, scale, patch', async () => {
    assert.match(await c.k('label', 'deployment', 'ghost', 'env=prod'), /labeled/);
    assert.match(await c.k('annotate', 'deployment', 'ghost', 'owner=team-a'), /annotated/);
    assert.match(await c.k('scale', 'deployment', 'ghost', '--replicas', '7'), /scaled/);
    assert.equal(await c.k('get', 'deploy', 'ghost', '-o', 'jsonpath={.spec.replicas}'), '7');
    await c.k('patch', 'deployment', 'ghost', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}');
    await c.k('patch', 'deployment', 'ghost', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":5}]');
    await c.k('patch', 'deployment', 'ghost', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"ghost","image":"ghost:1.0"}]}}}}');
    const d = JSON.parse(await c.k('get', 'deploy', 'ghost', '-o', 'json')) as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string; env: unknown[] }> } } }; metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    assert.equal(d.metadata.labels.env, 'prod');
    assert.equal(d.metadata.labels.patched, 'merge');
    assert.equal(d.metadata.annotations.owner, 'team-a');
    assert.equal(d.spec.replicas, 5);
    assert.equal(d.spec.template.spec.containers[0]!.image, 'ghost:1.0');
    assert.equal(d.spec.template.spec.containers[0]!.env.length, 1, 'strategic merge keeps the container env');
  });

  await t.test('replace with a stale object fails with Conflict', async () => {
    const stale = await c.k('get', 'deploy', 'ghost', '-o', 'yaml');
    await c.k('label', 'deployment', 'ghost', 'bump=1');
    const f = join(dir, 'stale.yaml');
    writeFileSync(f, stale);
    const r = await c.kubectl(['replace', '-f', f]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on deployments.apps "ghost": the object has been modified; please apply your changes to the latest version and try again/);
  });

  await t.test('secrets and configmaps from files', async () => {
    const tls = join(dir, 'tls');
    mkdirSync(tls);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(tls, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(tls, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await c.k('create', 'secret', 'generic', 'tls-certs', `--from-file=${tls}/`);
    await c.k('create', 'secret', 'generic', 'one-file', `--from-file=${join(tls, 'cert.pem')}`);
    const s = JSON.parse(await c.k('get', 'secret', 'tls-certs', '-o', 'json')) as { type: string; data: Record<string, string> };
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(Object.keys(s.data).sort(), ['cert.pem', 'key.pem']);
    assert.match(Buffer.from(s.data['cert.pem']!, 'base64').toString(), /BEGIN CERTIFICATE/);
    const out = await c.k('get', 'secrets');
    assert.deepEqual(header(out), ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.match(out, /^tls-certs\s+Opaque\s+2\s/m);

    const conf = join(dir, 'ghost.conf');
    writeFileSync(conf, 'server { listen 80; }\n');
    await c.k('create', 'configmap', 'nginx-ghost', `--from-file=${conf}`);
    const cm = await c.k('get', 'configmaps');
    assert.deepEqual(header(cm), ['NAME', 'DATA', 'AGE']);
    assert.match(cm, /^nginx-ghost\s+1\s/m);
  });

  await t.test('create secret tls', async () => {
    const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=*.example.com', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1']);
    assert.equal(r.code, 0, r.stderr);
    await c.k('create', 'secret', 'tls', 'ghost-tls', `--cert=${join(dir, 'tls.crt')}`, `--key=${join(dir, 'tls.key')}`);
    assert.match(await c.k('get', 'secret', 'ghost-tls'), /ghost-tls\s+kubernetes.io\/tls\s+2\s/);
  });

  await t.test('describe each kind', async () => {
    assert.match(await c.k('describe', 'deployment', 'ghost'), /StrategyType:\s+RollingUpdate/);
    assert.match(await c.k('describe', 'pod', 'nginx'), /Status:\s+Pending/);
    assert.match(await c.k('describe', 'service', 'web'), /IP:\s+10\.43\./);
    assert.match(await c.k('describe', 'secret', 'tls-certs'), /cert\.pem:\s+\d+ bytes/);
    assert.match(await c.k('describe', 'configmap', 'nginx-ghost'), /listen 80/);
    assert.match(await c.k('describe', 'namespace', 'default'), /Status:\s+Active/);
  });

  await t.test('get events has the kube-apiserver columns', async () => {
    const ev = `apiVersion: v1
kind: Event
metadata:
  name: nginx.1
involvedObject:
  kind: Pod
  name: nginx
  namespace: default
reason: Scheduled
message: Successfully assigned default/nginx to node1
type: Normal
source:
  component: default-scheduler
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
`;
    const r = await c.kubectl(['create', '-f', '-'], { input: ev });
    assert.equal(r.code, 0, r.stderr);
    const out = await c.k('get', 'events');
    assert.deepEqual(header(out), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    assert.match(out, /Normal\s+Scheduled\s+pod\/nginx\s+Successfully assigned/);
  });

  await t.test('replicasets, nodes and ingresses print kube-apiserver columns', async () => {
    const rs = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: front
spec:
  replicas: 2
  selector:
    matchLabels: {app: front}
  template:
    metadata:
      labels: {app: front}
    spec:
      containers:
      - name: c
        image: nginx:1.27
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels:
    node-role.kubernetes.io/control-plane: "true"
`;
    const r = await c.kubectl(['create', '-f', '-'], { input: rs });
    assert.equal(r.code, 0, r.stderr);
    const rsOut = await c.k('get', 'replicasets');
    assert.deepEqual(header(rsOut), ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    assert.match(rsOut, /^front\s+2\s+[0-2]\s+0\s+\d+s$/m);
    const nodes = await c.k('get', 'nodes');
    assert.deepEqual(header(nodes), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    assert.match(nodes, /^node-a\s+Unknown\s+control-plane\s+\d+s\s+$/m);
    await c.k('create', 'ingress', 'blog', '--rule=blog.example.com/*=web:80,tls=ghost-tls');
    const ing = await c.k('get', 'ingresses');
    assert.deepEqual(header(ing), ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    assert.match(ing, /^blog\s+<none>\s+blog\.example\.com\s+80, 443\s+\d+s$/m);
    assert.match(await c.k('describe', 'ingress', 'blog'), /blog\.example\.com/);
  });

  await t.test('auth can-i, auth whoami, diff and server dry-run', async () => {
    assert.equal((await c.k('auth', 'can-i', 'create', 'deployments')).trim(), 'yes');
    assert.match(await c.k('auth', 'whoami'), /system:admin/);
    const live = await c.k('get', 'deploy', 'ghost', '-o', 'yaml');
    const same = await c.kubectl(['diff', '-f', '-'], { input: live });
    assert.equal(same.code, 0, `no difference expected: ${same.stdout}${same.stderr}`);
    const changed = await c.kubectl(['diff', '-f', '-'], { input: live.replace(/replicas: \d+/, 'replicas: 9') });
    assert.equal(changed.code, 1);
    assert.match(changed.stdout, /\+  replicas: 9/);
    assert.match(await c.k('create', 'deployment', 'dry', '--image=nginx:1.27', '--dry-run=server'), /created \(server dry run\)/);
    assert.notEqual((await c.kubectl(['get', 'deployment', 'dry'])).code, 0);
  });

  await t.test('delete -l', async () => {
    await c.k('run', 'tmp1', '--image=busybox:1.36', '--labels=purpose=tmp');
    await c.k('run', 'tmp2', '--image=busybox:1.36', '--labels=purpose=tmp');
    const out = await c.k('delete', 'pods', '-l', 'purpose=tmp');
    assert.match(out, /pod "tmp1" deleted/);
    assert.match(out, /pod "tmp2" deleted/);
    assert.equal((await c.k('get', 'pods', '-l', 'purpose=tmp', '-o', 'name')).trim(), '');
  });
}
