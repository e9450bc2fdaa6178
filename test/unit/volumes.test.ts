import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, readlinkSync, existsSync, statSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Pod, Volume } from 'kubernetes-types/core/v1.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { RestClient, configFromKubeconfig } from '../../src/client/rest.js';
import { createVolumeManager, VolumeError, type VolumeManager } from '../../src/agent/volumes/manager.js';
import { readMounts, mountsUnder, unmount } from '../../src/agent/volumes/mounts.js';

// The node agent's volume manager against a real `kite server`: tmpfs mounts that really exist, the
// kubelet's messages for what is missing, refresh, and tear-down also by a manager started after a restart.

let c: Cluster;
let client: RestClient;
let root: string;
let dataDir: string;
const logs: string[] = [];
let sock: Server;

function manager(): VolumeManager {
  return createVolumeManager({ dataDir, client, nodeName: 'vol-node', log: (m) => logs.push(m) });
}

async function apply(yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

function podWith(volumes: Volume[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: randomUUID(), labels: { app: 'vol' } },
    spec: { nodeName: 'vol-node', containers: [{ name: 'c', image: 'busybox', resources: { requests: { memory: '32Mi' } } }], volumes, ...extra },
  };
}

async function setUpError(m: VolumeManager, pod: Pod): Promise<VolumeError> {
  try {
    await m.setUp(pod);
  } catch (e) {
    assert.ok(e instanceof VolumeError, `expected a VolumeError, got ${String(e)}`);
    assert.equal(e.reason, 'FailedMount');
    return e;
  } finally {
    await m.tearDown(pod.metadata!.uid!);
  }
  assert.fail('setUp should have failed');
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'kite-volumes-'));
  dataDir = join(root, 'agent');
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  client = new RestClient(configFromKubeconfig(c.kubeconfig, 'kite-agent-test'));
  await apply(`apiVersion: v1
kind: Node
metadata: {name: vol-node}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: alpha, b.txt: beta}
binaryData: {bin: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: s3cret, user: admin}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: vol-test-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  hostPath: {path: ${join(root, 'pv-data')}, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: bound}
spec: {accessModes: [ReadWriteOnce], storageClassName: "", volumeName: vol-test-pv, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pending}
spec: {accessModes: [ReadWriteOnce], storageClassName: no-such-class, resources: {requests: {storage: 1Gi}}}
`);
  await c.k('patch', 'node', 'vol-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { allocatable: { cpu: '2', memory: '1Gi' } } }));
  await c.k('patch', 'pvc', 'bound', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Bound' } }));
  const sockPath = join(root, 'app.sock');
  sock = createServer();
  await new Promise<void>((r) => sock.listen(sockPath, r));
});

after(async () => {
  // Whatever a failed test left mounted must go before the directory does.
  if (root) for (const m of await mountsUnder(root)) await unmount(m).catch(() => undefined);
  sock?.close();
  client?.close();
  await c?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('configMap, secret, downwardAPI and projected volumes: each its own tmpfs, kubelet layout, modes', async (t) => {
  const m = manager();
  const pod = podWith([
    { name: 'cfg', configMap: { name: 'cfg' } },
    { name: 'cfg-items', configMap: { name: 'cfg', items: [{ key: 'a', path: 'sub/a.conf', mode: 0o600 }, { key: 'bin', path: 'bin' }], defaultMode: 0o640 } },
    { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
    { name: 'down', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } }] } },
    {
      name: 'kube-api-access-abcde',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          { secret: { name: 'sec', items: [{ key: 'user', path: 'user' }] } },
        ],
      },
    },
  ]);
  const uid = pod.metadata!.uid!;
  t.after(() => m.tearDown(uid));
  const mounts = await m.setUp(pod);
  const vols = join(dataDir, 'pods', uid, 'volumes');
  assert.deepEqual(mounts.get('sec'), { hostPath: join(vols, 'kubernetes.io~secret', 'sec'), readOnly: true });
  assert.deepEqual(mounts.get('cfg'), { hostPath: join(vols, 'kubernetes.io~configmap', 'cfg'), readOnly: true });

  const table = await readMounts();
  for (const [name, noexec] of [['cfg', false], ['cfg-items', false], ['sec', true], ['down', false], ['kube-api-access-abcde', true]] as const) {
    const dir = mounts.get(name)!.hostPath;
    const entry = table.filter((e) => e.mountPoint === dir);
    assert.equal(entry.length, 1, `${name} mounted once`);
    assert.equal(entry[0]!.fsType, 'tmpfs');
    for (const o of ['nosuid', 'nodev', 'mode=755']) assert.ok(entry[0]!.options.includes(o), `${name}: ${o} in ${entry[0]!.options.join(',')}`);
    assert.equal(entry[0]!.options.includes('noexec'), noexec, `${name}: noexec`);
    assert.equal(readlinkSync(join(dir, '..data')).startsWith('..'), true);
  }

  const cfg = mounts.get('cfg')!.hostPath;
  assert.equal(readFileSync(join(cfg, 'a'), 'utf8'), 'alpha');
  assert.equal(readFileSync(join(cfg, 'b.txt'), 'utf8'), 'beta');
  assert.deepEqual([...readFileSync(join(cfg, 'bin'))], [0, 1, 2]);
  assert.equal(statSync(join(cfg, 'a')).mode & 0o777, 0o644);
  assert.equal(readlinkSync(join(cfg, 'a')), '..data/a');

  const items = mounts.get('cfg-items')!.hostPath;
  assert.equal(readFileSync(join(items, 'sub/a.conf'), 'utf8'), 'alpha');
  assert.equal(statSync(join(items, 'sub/a.conf')).mode & 0o777, 0o600);
  assert.equal(statSync(join(items, 'bin')).mode & 0o777, 0o640);
  assert.equal(existsSync(join(items, 'b.txt')), false, 'only listed items');

  const sec = mounts.get('sec')!.hostPath;
  assert.equal(readFileSync(join(sec, 'password'), 'utf8'), 's3cret');
  assert.equal(statSync(join(sec, 'password')).mode & 0o777, 0o400);

  const down = mounts.get('down')!.hostPath;
  assert.equal(readFileSync(join(down, 'labels'), 'utf8'), 'app="vol"');
  assert.equal(readFileSync(join(down, 'mem'), 'utf8'), '1024', 'no limit: node allocatable (1Gi) in Mi');

  const proj = mounts.get('kube-api-access-abcde')!.hostPath;
  assert.equal(readFileSync(join(proj, 'namespace'), 'utf8'), 'default');
  assert.equal(readFileSync(join(proj, 'user'), 'utf8'), 'admin');
  assert.equal(readFileSync(join(proj, 'ca.crt'), 'utf8'), client.config.caPem, 'the cluster CA stands in for kube-root-ca.crt');
  // kite's API does not serve TokenRequest yet: the pod still gets its volume, and the agent says why.
  if (!existsSync(join(proj, 'token'))) assert.ok(logs.some((l) => /serviceaccounts\/default\/token .*not served/.test(l)), logs.join('\n'));
});

test('refresh projects a changed configMap atomically and removes the old data dir', async (t) => {
  await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: live}\ndata: {k: v1, old: x}\n');
  const m = manager();
  const pod = podWith([{ name: 'live', configMap: { name: 'live' } }]);
  t.after(() => m.tearDown(pod.metadata!.uid!));
  const dir = (await m.setUp(pod)).get('live')!.hostPath;
  const first = readlinkSync(join(dir, '..data'));
  await m.refresh(pod);
  assert.equal(readlinkSync(join(dir, '..data')), first, 'unchanged source: nothing rewritten');
  await c.k('patch', 'configmap', 'live', '--type=json', '-p', '[{"op":"replace","path":"/data","value":{"k":"v2","new":"y"}}]');
  await m.refresh(pod);
  const second = readlinkSync(join(dir, '..data'));
  assert.notEqual(second, first);
  assert.equal(readFileSync(join(dir, 'k'), 'utf8'), 'v2');
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'y');
  assert.equal(existsSync(join(dir, 'old')), false);
  assert.equal(existsSync(join(dir, first)), false, 'old data dir removed');
  assert.deepEqual(readdirSync(dir).sort(), ['..data', second, 'k', 'new'].sort());
});

test('missing objects and keys fail with the kubelet messages; optional ones do not', async () => {
  const m = manager();
  let e = await setUpError(m, podWith([{ name: 'v', configMap: { name: 'nope' } }]));
  assert.equal(e.message, 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found');
  e = await setUpError(m, podWith([{ name: 's', secret: { secretName: 'nope' } }]));
  assert.equal(e.message, 'MountVolume.SetUp failed for volume "s" : secret "nope" not found');
  e = await setUpError(m, podWith([{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'zzz', path: 'z' }] } }]));
  assert.equal(e.message, 'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zzz');
  e = await setUpError(m, podWith([{ name: 's', secret: { secretName: 'sec', items: [{ key: 'zzz', path: 'z' }] } }]));
  assert.equal(e.message, 'MountVolume.SetUp failed for volume "s" : references non-existent secret key: zzz');
  e = await setUpError(m, podWith([{ name: 'n', nfs: { server: '10.0.0.1', path: '/export' } }]));
  assert.match(e.message, /^MountVolume.SetUp failed for volume "n" : volume type "nfs" is not supported by kite/);
  e = await setUpError(m, podWith([{ name: 'c', persistentVolumeClaim: { claimName: 'pending' } }]));
  assert.equal(e.message, 'persistentvolumeclaim "pending" is not bound');
  e = await setUpError(m, podWith([{ name: 'c', persistentVolumeClaim: { claimName: 'absent' } }]));
  assert.equal(e.message, 'persistentvolumeclaim "absent" not found');

  const pod = podWith([
    { name: 'opt', configMap: { name: 'nope', optional: true } },
    { name: 'optkey', secret: { secretName: 'sec', optional: true, items: [{ key: 'zzz', path: 'z' }, { key: 'user', path: 'u' }] } },
  ]);
  try {
    const mounts = await m.setUp(pod);
    assert.deepEqual(readdirSync(mounts.get('opt')!.hostPath).filter((e) => !e.startsWith('..')), []);
    assert.deepEqual(readdirSync(mounts.get('optkey')!.hostPath).filter((e) => !e.startsWith('..')), ['u']);
  } finally {
    await m.tearDown(pod.metadata!.uid!);
  }
});

test('hostPath types are checked with the kubelet messages; DirectoryOrCreate and FileOrCreate create', async () => {
  const m = manager();
  const hp = join(root, 'hostpath');
  mkdirSync(hp, { recursive: true });
  writeFileSync(join(hp, 'file'), 'f');
  const ok = async (path: string, type: string) => (await m.setUp(podWith([{ name: 'h', hostPath: { path, type } }]))).get('h')!;
  assert.deepEqual(await ok(join(hp, 'new/dir'), 'DirectoryOrCreate'), { hostPath: join(hp, 'new/dir'), readOnly: false });
  assert.equal(statSync(join(hp, 'new/dir')).isDirectory(), true);
  await ok(join(hp, 'created.txt'), 'FileOrCreate');
  assert.equal(statSync(join(hp, 'created.txt')).isFile(), true);
  await ok(hp, 'Directory');
  await ok(join(hp, 'file'), 'File');
  await ok(join(root, 'app.sock'), 'Socket');
  await ok('/dev/null', 'CharDevice');
  await ok(join(hp, 'untyped'), '');
  const fail = async (path: string, type: string) => (await setUpError(m, podWith([{ name: 'h', hostPath: { path, type } }]))).message;
  assert.equal(await fail(join(hp, 'missing'), 'Directory'), `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(hp, 'missing')} is not a directory`);
  assert.equal(await fail(join(hp, 'file'), 'DirectoryOrCreate'), `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(hp, 'file')} is not a directory`);
  assert.equal(await fail(hp, 'File'), `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${hp} is not a file`);
  assert.equal(await fail(join(hp, 'file'), 'Socket'), `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(hp, 'file')} is not a socket file`);
  assert.equal(await fail(join(hp, 'file'), 'CharDevice'), `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(hp, 'file')} is not a character device`);
  assert.equal(await fail('/dev/null', 'BlockDevice'), 'MountVolume.SetUp failed for volume "h" : hostPath type check failed: /dev/null is not a block device');
});

test('emptyDir: a world-writable directory, or a sized tmpfs with medium Memory', async (t) => {
  const m = manager();
  const pod = podWith([
    { name: 'scratch', emptyDir: {} },
    { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
  ]);
  t.after(() => m.tearDown(pod.metadata!.uid!));
  const mounts = await m.setUp(pod);
  const scratch = mounts.get('scratch')!;
  assert.equal(scratch.readOnly, false);
  assert.equal(statSync(scratch.hostPath).mode & 0o777, 0o777);
  const table = await readMounts();
  assert.equal(table.some((e) => e.mountPoint === scratch.hostPath), false, 'disk-backed emptyDir is no mount');
  const mem = table.find((e) => e.mountPoint === mounts.get('mem')!.hostPath);
  assert.equal(mem?.fsType, 'tmpfs');
  assert.ok(mem.options.includes('size=8192k'), mem.options.join(','));
  assert.equal(statSync(mounts.get('mem')!.hostPath).mode & 0o777, 0o777);
});

test('persistentVolumeClaim: a bound hostPath PV mounts its directory, readOnly from the pod', async () => {
  const m = manager();
  const pod = podWith([{ name: 'data', persistentVolumeClaim: { claimName: 'bound', readOnly: true } }]);
  const mounts = await m.setUp(pod);
  assert.deepEqual(mounts.get('data'), { hostPath: join(root, 'pv-data'), readOnly: true });
  writeFileSync(join(root, 'pv-data', 'keep.me'), 'user data');
  await m.tearDown(pod.metadata!.uid!);
  assert.equal(readFileSync(join(root, 'pv-data', 'keep.me'), 'utf8'), 'user data', 'tear-down never touches PV data');
});

test('tearDown unmounts and removes everything, is idempotent, and works from a manager started after a restart', async () => {
  const first = manager();
  const hostDir = join(root, 'host-keep');
  const pod = podWith([
    { name: 'sec', secret: { secretName: 'sec' } },
    { name: 'cfg', configMap: { name: 'cfg' } },
    { name: 'mem', emptyDir: { medium: 'Memory' } },
    { name: 'disk', emptyDir: {} },
    { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
  ]);
  const uid = pod.metadata!.uid!;
  await first.setUp(pod);
  await first.setUp(pod); // a retried setUp re-uses its mounts
  const podDir = join(dataDir, 'pods', uid);
  assert.equal((await mountsUnder(podDir)).length, 3);
  writeFileSync(join(hostDir, 'keep.me'), 'x');

  // "Restart": a new manager knows nothing but the disk and the mount table.
  const second = manager();
  assert.ok((await second.podsOnDisk()).includes(uid));
  await second.tearDown(uid);
  assert.deepEqual(await mountsUnder(podDir), []);
  assert.equal(existsSync(podDir), false);
  assert.equal((await second.podsOnDisk()).includes(uid), false);
  assert.equal(readFileSync(join(hostDir, 'keep.me'), 'utf8'), 'x', 'hostPath content survives');
  await second.tearDown(uid);
  await first.tearDown(uid);
});
