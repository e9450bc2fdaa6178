import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, waitFor, run, type Cluster } from '../helpers/cluster.js';
import { buildImage } from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import { getPod, httpGet, isReady, isRunning, mountsUnder, waitPod } from '../helpers/node.js';

// Issue 4's acceptance, part 1: pods as real containers — a web server reached on its pod IP, two containers
// sharing localhost, secrets and config on tmpfs, env from secrets, and an image pulled from a registry.

let c: Cluster;
const KITE = process.env.KITE_BIN ?? join(process.cwd(), 'bin', 'kite');

before(async () => {
  c = await startCluster({ agent: true });
  await buildImage(c.dataDir, 'web:v1', { files: { 'www/index.html': 'hello from web v1\n' }, entrypoint: ['/bin/httpd', '-f', '-p', '80', '-h', '/www'] });
  await buildImage(c.dataDir, 'tools:v1', { cmd: ['sh'] });
});

after(async () => {
  await c?.stop();
});

async function apply(manifest: unknown): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  assert.equal(r.code, 0, r.stderr);
}

test('kubectl run web --port 80 becomes Running with a pod IP, and the host fetches its page', async () => {
  await c.k('run', 'web', '--image=web:v1', '--port', '80');
  const pod = await waitPod(c, 'web', 'Running', (p) => isRunning(p) && isReady(p));
  assert.match(pod.status!.podIP!, /^10\.88\.3\.\d+$/);
  assert.equal(pod.status!.containerStatuses![0].ready, true);
  assert.match(pod.status!.containerStatuses![0].containerID ?? '', /^runc:\/\//);
  const page = await waitFor('the page from the pod IP', async () => httpGet(`http://${pod.status!.podIP}/`).catch(() => undefined));
  assert.equal(page.status, 200);
  assert.equal(page.body, 'hello from web v1\n');
  const wide = await c.k('get', 'pod', 'web', '-o', 'wide');
  assert.match(wide, /web\s+1\/1\s+Running\s+0\s+\S+\s+10\.88\.3\.\d+/);
  const events = await c.k('get', 'events', '--field-selector', 'involvedObject.name=web');
  assert.match(events, /Started/);
});

test('two containers in one pod talk over localhost', async () => {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pair' },
    spec: {
      containers: [
        { name: 'server', image: 'web:v1', command: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'] },
        { name: 'client', image: 'tools:v1', command: ['sh', '-c', 'until timeout 3 wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; sleep 3600'] },
      ],
    },
  });
  await waitPod(c, 'pair', 'Running', isRunning);
  await waitFor('the client container to print the server page', async () => (await c.k('logs', 'pair', '-c', 'client')).includes('hello from web v1'), 30_000, 250);
});

test('secrets from a directory on tmpfs, a configMap with items, env from a secret key, and a missing key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-tls-'));
  try {
    mkdirSync(join(dir, 'tls'));
    writeFileSync(join(dir, 'tls', 'cert.pem'), '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'tls', 'key.pem'), 'secret key\n');
    writeFileSync(join(dir, 'app.conf'), 'listen 8080;\n');
    await c.k('create', 'secret', 'generic', 'tls-certs', `--from-file=${join(dir, 'tls')}/`);
    await c.k('create', 'configmap', 'app-config', `--from-file=${join(dir, 'app.conf')}`);
    await c.k('create', 'secret', 'generic', 'db', '--from-literal=password=s3cr3t');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'secrets' },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'tools:v1',
          command: ['sh', '-c', 'sleep 3600'],
          env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
          volumeMounts: [
            { name: 'tls', mountPath: '/etc/tls', readOnly: true },
            { name: 'config', mountPath: '/etc/app' },
          ],
        },
      ],
      volumes: [
        { name: 'tls', secret: { secretName: 'tls-certs' } },
        { name: 'config', configMap: { name: 'app-config', items: [{ key: 'app.conf', path: 'conf.d/app.conf' }] } },
      ],
    },
  });
  const pod = await waitPod(c, 'secrets', 'Running', isRunning);
  assert.match(await c.k('exec', 'secrets', '--', 'cat', '/etc/tls/cert.pem'), /BEGIN CERTIFICATE/);
  assert.equal(await c.k('exec', 'secrets', '--', 'cat', '/etc/tls/key.pem'), 'secret key\n');
  assert.equal(await c.k('exec', 'secrets', '--', 'cat', '/etc/app/conf.d/app.conf'), 'listen 8080;\n');
  assert.equal(await c.k('exec', 'secrets', '--', 'sh', '-c', 'echo $DB_PASSWORD'), 's3cr3t\n');
  assert.match(await c.k('exec', 'secrets', '--', 'sh', '-c', 'grep " /etc/tls " /proc/mounts'), /tmpfs/);

  // On the host the secret lives on a tmpfs of the pod, and nowhere once the pod is gone.
  const uid = pod.metadata!.uid!;
  const podMounts = mountsUnder(c.dataDir).filter((m) => m.includes(uid));
  assert.ok(podMounts.some((m) => m.includes('secret')), `no secret tmpfs among ${JSON.stringify(podMounts)}`);
  await c.k('delete', 'pod', 'secrets', '--wait=true');
  await waitFor('the pod mounts to go', async () => mountsUnder(c.dataDir).every((m) => !m.includes(uid)), 30_000, 250);
  const secretDirs = podMounts.filter((m) => m.includes('secret'));
  assert.ok(secretDirs.every((m) => !existsSync(join(m, 'key.pem'))), 'secret files left on the host');

  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'missing-key' },
    spec: { containers: [{ name: 'app', image: 'tools:v1', command: ['sleep', '3600'], env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'nope' } } }] }] },
  });
  const stuck = await waitPod(c, 'missing-key', 'CreateContainerConfigError', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.match(stuck.status!.containerStatuses![0].state!.waiting!.message ?? '', /couldn't find key nope in Secret default\/db/);
  assert.match(await c.k('get', 'pod', 'missing-key'), /CreateContainerConfigError/);
});

test('an image pulled from a registry on 127.0.0.1, with Pulling and Pulled events', async () => {
  const registry = await startRegistry();
  try {
    const push = await run(process.execPath, [KITE, 'image', 'push', 'web:v1', '--to', `${registry.host}/demo/web:v1`, '--data-dir', c.dataDir], { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr);
    await c.k('run', 'pulled', `--image=${registry.host}/demo/web:v1`, '--image-pull-policy=Always');
    const pod = await waitPod(c, 'pulled', 'Running', isRunning, 120_000);
    assert.match(pod.status!.containerStatuses![0].imageID ?? '', /@sha256:[0-9a-f]{64}$/);
    const events = await c.k('get', 'events', '--field-selector', 'involvedObject.name=pulled');
    assert.match(events, /Pulling\s+pod\/pulled\s+Pulling image/);
    assert.match(events, /Pulled\s+pod\/pulled\s+Successfully pulled image/);
    await c.k('delete', 'pod', 'pulled', '--wait=true');
  } finally {
    await registry.stop();
  }
  const missing = await c.kubectl(['run', 'nosuch', `--image=127.0.0.1:1/none/such:v1`]);
  assert.equal(missing.code, 0, missing.stderr);
  await waitPod(c, 'nosuch', 'ErrImagePull or ImagePullBackOff', (p) => /ErrImagePull|ImagePullBackOff/.test(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''));
  const p = await getPod(c, 'nosuch');
  assert.equal(p.status?.phase, 'Pending');
});
