import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../src/api/object.js';
import { StatusError } from '../../src/api/errors.js';
import { RestClient, configFromKubeconfig, resource, type ClientConfig } from '../../src/client/rest.js';
import { startAgent, type Agent } from '../../src/agent/agent.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { FakeImages, FakeRuntime, FakeVolumes } from './agent-fakes.js';

// The node agent's pod lifecycle against a real API server, with an in-memory runtime: registration,
// running, restarts with back-off, final phases, config errors, probes, deletion, adoption and orphans.

const PODS = resource('', 'v1', 'pods');
const NODES = resource('', 'v1', 'nodes');
const LEASES = resource('coordination.k8s.io', 'v1', 'leases');
const EVENTS = resource('', 'v1', 'events');
const SECRETS = resource('', 'v1', 'secrets');
const SERVICES = resource('', 'v1', 'services');

let cluster: Cluster;
let config: ClientConfig;
let client: RestClient;
let tmp: string;

const FAST = {
  resyncMs: 300,
  leaseRenewMs: 500,
  statusUpdateMs: 500,
  housekeepingMs: 500,
  crashBackoffInitialMs: 1000,
  crashBackoffMaxMs: 8000,
  imageBackoffInitialMs: 1000,
  imageBackoffMaxMs: 4000,
};

interface Node0 {
  agent: Agent;
  runtime: FakeRuntime;
  images: FakeImages;
  volumes: FakeVolumes;
  name: string;
}

async function startNode(name: string, reuse?: Partial<Node0>): Promise<Node0> {
  const runtime = reuse?.runtime ?? new FakeRuntime();
  const images = reuse?.images ?? new FakeImages();
  const volumes = reuse?.volumes ?? new FakeVolumes(join(tmp, `vol-${name}`));
  const agent = await startAgent({
    server: config,
    nodeName: name,
    nodeIP: '127.0.0.1',
    podCidr: '10.88.3.0/24',
    clusterDns: ['10.43.0.10'],
    clusterDomain: 'cluster.local',
    kubeletPort: 0,
    dataDir: join(tmp, `data-${name}`),
    runtime,
    images,
    volumes,
    streaming: false,
    timing: FAST,
    log: () => undefined,
  });
  return { agent, runtime, images, volumes, name };
}

let main: Node0;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kite-agent-test-'));
  cluster = await startCluster();
  config = configFromKubeconfig(cluster.kubeconfig);
  client = new RestClient(config);
  main = await startNode('agent-main');
});

after(async () => {
  await main?.agent.stop();
  await main?.runtime.close();
  client?.close();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>>, nodeName = 'agent-main'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.35' }], ...spec },
  } as unknown as KubeObject;
}

async function getPod(name: string): Promise<Pod> {
  return (await client.get(PODS, 'default', name)) as unknown as Pod;
}

async function waitPod(name: string, what: string, ok: (p: Pod) => boolean, timeoutMs = 20_000): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(
      `pod ${name}: ${what}`,
      async () => {
        last = await getPod(name);
        return ok(last) ? last : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last?.status, null, 1)}`);
  }
}

async function events(name: string): Promise<Event[]> {
  const list = await client.list(EVENTS, 'default', { fieldSelector: `involvedObject.name=${name}` });
  return list.items as unknown as Event[];
}

async function waitEvent(name: string, reason: string, re: RegExp): Promise<Event> {
  return waitFor(`event ${reason} ${re} for ${name}`, async () => (await events(name)).find((e) => e.reason === reason && re.test(e.message ?? '')), 20_000, 150);
}

async function deletePod(name: string): Promise<void> {
  try {
    await client.delete(PODS, 'default', name, { gracePeriodSeconds: 0 });
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
}

test('the node registers Ready with machine capacity, addresses, nodeInfo and a Lease', async () => {
  const node = (await client.get(NODES, undefined, 'agent-main')) as unknown as Node;
  assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], 'agent-main');
  assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
  assert.equal(node.metadata?.labels?.['kubernetes.io/arch'], 'amd64');
  assert.equal(node.spec?.podCIDR, '10.88.3.0/24');
  assert.deepEqual(node.spec?.podCIDRs, ['10.88.3.0/24']);
  assert.equal(node.status?.capacity?.cpu, String(availableParallelism()));
  assert.match(node.status?.capacity?.memory ?? '', /^\d+Ki$/);
  assert.equal(node.status?.capacity?.pods, '110');
  assert.ok(node.status?.capacity?.['ephemeral-storage']);
  assert.deepEqual(node.status?.addresses, [
    { type: 'InternalIP', address: '127.0.0.1' },
    { type: 'Hostname', address: 'agent-main' },
  ]);
  const info = node.status?.nodeInfo;
  assert.equal(info?.kubeletVersion, 'v1.32.0+kite');
  assert.equal(info?.containerRuntimeVersion, 'runc://1.1.5-fake');
  assert.equal(info?.operatingSystem, 'linux');
  assert.ok(info?.kernelVersion && info.osImage && info.bootID);
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.equal(ready?.reason, 'KubeletReady');
  assert.equal(ready?.message, 'kubelet is posting ready status');
  assert.equal(node.status?.conditions?.find((c) => c.type === 'MemoryPressure')?.reason, 'KubeletHasSufficientMemory');
  const lease = (await client.get(LEASES, 'kube-node-lease', 'agent-main')) as unknown as { spec: { holderIdentity: string; renewTime: string } };
  assert.equal(lease.spec.holderIdentity, 'agent-main');
  const first = lease.spec.renewTime;
  await waitFor('the lease to be renewed', async () => ((await client.get(LEASES, 'kube-node-lease', 'agent-main')) as unknown as typeof lease).spec.renewTime !== first, 10_000);
});

test('a pod runs: podIP, conditions, container statuses, env and argv, events', async () => {
  await client.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'run-secret', namespace: 'default' }, data: { pw: Buffer.from('hunter2').toString('base64') } } as unknown as KubeObject);
  await client.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'my-db', namespace: 'default' }, spec: { ports: [{ name: 'pg', port: 5432 }] } } as unknown as KubeObject);
  await client.create(
    PODS,
    'default',
    pod('run1', {
      containers: [
        {
          name: 'c',
          image: 'busybox:1.35',
          command: ['/bin/app'],
          args: ['--name=$(MY_NAME)', '--pw=$(PW)', '$$(MY_NAME)', '$(UNKNOWN)'],
          env: [
            { name: 'MY_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'PW', valueFrom: { secretKeyRef: { name: 'run-secret', key: 'pw' } } },
            { name: 'GREETING', value: 'hi $(MY_NAME)' },
          ],
          volumeMounts: [{ name: 'data', mountPath: '/data', subPath: 'sub' }],
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      hostname: 'web',
      subdomain: 'svc1',
    }),
  );
  const p = await waitPod('run1', 'Running and Ready', (x) => x.status?.phase === 'Running' && x.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  const st = p.status!;
  assert.match(st.podIP ?? '', /^10\.88\.3\.\d+$/);
  assert.deepEqual(st.podIPs, [{ ip: st.podIP }]);
  assert.equal(st.hostIP, '127.0.0.1');
  assert.ok(st.startTime);
  assert.equal(st.qosClass, 'BestEffort');
  for (const t of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) assert.equal(st.conditions?.find((c) => c.type === t)?.status, 'True', t);
  const cs = st.containerStatuses![0]!;
  assert.equal(cs.name, 'c');
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.equal(cs.image, 'docker.io/library/busybox:1.35');
  assert.match(cs.imageID, /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/);
  assert.match(cs.containerID ?? '', /^runc:\/\/[0-9a-f]+$/);
  assert.ok(cs.state?.running?.startedAt);

  const created = main.runtime.podContainers(p.metadata!.uid!, 'c')[0]!;
  const cfg = created.config;
  assert.deepEqual(cfg.argv, ['/bin/app', '--name=run1', '--pw=hunter2', '$(MY_NAME)', '$(UNKNOWN)']);
  const env = new Map(cfg.env.map((e) => [e.name, e.value]));
  assert.equal(env.get('MY_IP'), st.podIP);
  assert.equal(env.get('GREETING'), 'hi run1');
  assert.equal(env.get('FROM_IMAGE'), '1');
  assert.equal(env.get('MY_DB_SERVICE_PORT'), '5432');
  assert.ok(env.get('MY_DB_SERVICE_HOST'));
  assert.equal(env.get('MY_DB_PORT_5432_TCP_PORT'), '5432');
  const data = cfg.mounts.find((m) => m.containerPath === '/data');
  assert.match(data?.hostPath ?? '', /\/data\/sub$/);
  assert.ok(cfg.mounts.some((m) => m.containerPath === '/dev/termination-log'));
  const sb = main.runtime.sandboxes.get(created.sandboxId)!;
  assert.equal(sb.config.hostname, 'web');
  assert.equal(sb.config.hostnameFqdn, 'web.svc1.default.svc.cluster.local');
  assert.deepEqual(sb.config.dns, { servers: ['10.43.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] });

  await waitEvent('run1', 'Pulled', /^Container image "busybox:1\.35" already present on machine$|^Successfully pulled image "busybox:1\.35" in .+ \(.+ including waiting\)\. Image size: 4242 bytes\.$/);
  await waitEvent('run1', 'Created', /^Created container: c$/);
  await waitEvent('run1', 'Started', /^Started container c$/);
  await deletePod('run1');
});

test('a crashing container restarts with CrashLoopBackOff and a growing delay', async () => {
  await client.create(PODS, 'default', pod('crash1', { containers: [{ name: 'c', image: 'busybox:1.35', command: ['exit', '3'] }] }));
  const p1 = await waitPod('crash1', 'CrashLoopBackOff after a restart', (x) => {
    const cs = x.status?.containerStatuses?.[0];
    return !!cs && cs.restartCount >= 1 && cs.state?.waiting?.reason === 'CrashLoopBackOff';
  });
  const cs1 = p1.status!.containerStatuses![0]!;
  assert.match(cs1.state!.waiting!.message!, new RegExp(`^back-off 1s restarting failed container=c pod=crash1_default\\(${p1.metadata!.uid}\\)$`));
  assert.equal(cs1.lastState?.terminated?.exitCode, 3);
  assert.equal(cs1.lastState?.terminated?.reason, 'Error');
  assert.equal(p1.status?.phase, 'Running');
  assert.equal(p1.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'ContainersNotReady');
  const p2 = await waitPod('crash1', 'a longer back-off', (x) => /^back-off 2s /.test(x.status?.containerStatuses?.[0]?.state?.waiting?.message ?? ''));
  assert.ok(p2.status!.containerStatuses![0]!.restartCount > cs1.restartCount);
  await waitEvent('crash1', 'BackOff', /^Back-off restarting failed container c in pod crash1_default/);
  await deletePod('crash1');
});

test('restartPolicy Never and OnFailure end in Succeeded or Failed', async () => {
  await client.create(PODS, 'default', pod('never-fail', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.35', command: ['exit', '2'] }] }));
  await client.create(PODS, 'default', pod('never-ok', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.35', command: ['exit', '0'] }] }));
  await client.create(PODS, 'default', pod('onfail-ok', { restartPolicy: 'OnFailure', initContainers: [{ name: 'init', image: 'busybox:1.35', command: ['exit', '0'] }], containers: [{ name: 'c', image: 'busybox:1.35', command: ['exit', '0'] }] }));
  const failed = await waitPod('never-fail', 'Failed', (x) => x.status?.phase === 'Failed');
  const t = failed.status!.containerStatuses![0]!.state!.terminated!;
  assert.equal(t.exitCode, 2);
  assert.equal(t.reason, 'Error');
  assert.equal(failed.status!.containerStatuses![0]!.restartCount, 0);
  const ok = await waitPod('never-ok', 'Succeeded', (x) => x.status?.phase === 'Succeeded');
  assert.equal(ok.status!.containerStatuses![0]!.state!.terminated!.reason, 'Completed');
  assert.equal(ok.status!.conditions!.find((c) => c.type === 'Ready')!.reason, 'PodCompleted');
  const of = await waitPod('onfail-ok', 'Succeeded', (x) => x.status?.phase === 'Succeeded');
  assert.equal(of.status!.initContainerStatuses![0]!.state!.terminated!.reason, 'Completed');
  // Pods whose phase is final keep their object but release the sandbox.
  await waitFor('the sandbox of never-ok to be stopped', async () => [...main.runtime.sandboxes.values()].some((s) => s.podUid === ok.metadata!.uid && s.state === 'NotReady'));
  assert.equal(main.runtime.podContainers(ok.metadata!.uid!, 'c').length, 1);
  for (const n of ['never-fail', 'never-ok', 'onfail-ok']) await deletePod(n);
});

test('a missing secret key is a CreateContainerConfigError with the kubelet message', async () => {
  await client.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cfg-secret', namespace: 'default' }, data: { a: Buffer.from('1').toString('base64') } } as unknown as KubeObject);
  await client.create(PODS, 'default', pod('cfgerr', { containers: [{ name: 'c', image: 'busybox:1.35', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'cfg-secret', key: 'nope' } } }, { name: 'Y', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } }] }] }));
  const p = await waitPod('cfgerr', 'CreateContainerConfigError', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.equal(p.status!.containerStatuses![0]!.state!.waiting!.message, "couldn't find key nope in Secret default/cfg-secret");
  assert.equal(p.status!.phase, 'Pending');
  await waitEvent('cfgerr', 'Failed', /^Error: couldn't find key nope in Secret default\/cfg-secret$/);
  await deletePod('cfgerr');
});

test('image pulls: Never without the image, and a failed pull backs off', async () => {
  main.images.missing.add('example.com/nope:1');
  await client.create(PODS, 'default', pod('img-never', { containers: [{ name: 'c', image: 'example.com/absent:2', imagePullPolicy: 'Never' }] }));
  await client.create(PODS, 'default', pod('img-missing', { containers: [{ name: 'c', image: 'example.com/nope:1' }] }));
  const never = await waitPod('img-never', 'ErrImageNeverPull', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
  assert.equal(never.status!.containerStatuses![0]!.state!.waiting!.message, 'Container image "example.com/absent:2" is not present with pull policy of Never');
  // ErrImagePull shows only until the next sync turns it into ImagePullBackOff: look for its event.
  await waitEvent('img-missing', 'Failed', /^Error: ErrImagePull$/);
  await waitPod('img-missing', 'ImagePullBackOff', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
  await waitEvent('img-missing', 'Failed', /^Failed to pull image "example\.com\/nope:1": /);
  await waitEvent('img-missing', 'BackOff', /^Back-off pulling image "example\.com\/nope:1"$/);
  await deletePod('img-never');
  await deletePod('img-missing');
});

test('a failing liveness probe restarts the container, with events', async () => {
  main.runtime.execHandler = (_id, argv) => (argv[0] === 'fail-liveness' ? 1 : 0);
  await client.create(PODS, 'default', pod('live1', { containers: [{ name: 'c', image: 'busybox:1.35', livenessProbe: { exec: { command: ['fail-liveness'] }, periodSeconds: 1, failureThreshold: 2 } }] }));
  const p = await waitPod('live1', 'restarted', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  assert.equal(p.status!.containerStatuses![0]!.lastState!.terminated!.exitCode, 137);
  await waitEvent('live1', 'Unhealthy', /^Liveness probe failed: probe said no \(fail-liveness\)$/);
  await waitEvent('live1', 'Killing', /^Container c failed liveness probe, will be restarted$/);
  await deletePod('live1');
});

test('readiness gates the Ready condition', async () => {
  let ready = false;
  main.runtime.execHandler = (_id, argv) => (argv[0] === 'check-ready' && !ready ? 1 : 0);
  await client.create(PODS, 'default', pod('ready1', { containers: [{ name: 'c', image: 'busybox:1.35', readinessProbe: { exec: { command: ['check-ready'] }, periodSeconds: 1, failureThreshold: 1 } }] }));
  const p = await waitPod('ready1', 'Running but not ready', (x) => x.status?.phase === 'Running' && !!x.status.containerStatuses?.[0]?.state?.running);
  const rc = p.status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(rc.status, 'False');
  assert.equal(rc.message, 'containers with unready status: [c]');
  assert.equal(p.status!.containerStatuses![0]!.ready, false);
  await waitEvent('ready1', 'Unhealthy', /^Readiness probe failed: /);
  ready = true;
  const r = await waitPod('ready1', 'Ready', (x) => x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  assert.equal(r.status!.containerStatuses![0]!.ready, true);
  assert.equal(r.status!.conditions!.find((c) => c.type === 'ContainersReady')!.status, 'True');
  await deletePod('ready1');
});

test('deletion stops containers with the grace period, cleans up and deletes the pod', async () => {
  await client.create(PODS, 'default', pod('del1', { terminationGracePeriodSeconds: 7, volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'c', image: 'busybox:1.35', volumeMounts: [{ name: 'v', mountPath: '/v' }] }] }));
  const p = await waitPod('del1', 'Running', (x) => x.status?.phase === 'Running');
  const uid = p.metadata!.uid!;
  await client.delete(PODS, 'default', 'del1');
  await waitFor('pod del1 to be deleted by the agent', async () => {
    try {
      await getPod('del1');
      return false;
    } catch (e) {
      return e instanceof StatusError && e.code === 404;
    }
  });
  const c = main.runtime.created.find((x) => x.labels['io.kubernetes.pod.uid'] === uid)!;
  assert.ok(c.stopGrace !== undefined && c.stopGrace <= 7 && c.stopGrace >= 5, `stopped with grace ${c.stopGrace}`);
  assert.ok(![...main.runtime.sandboxes.values()].some((s) => s.podUid === uid), 'sandbox removed');
  assert.ok(main.volumes.tornDown.includes(uid), 'volumes torn down');
  await waitEvent('del1', 'Killing', /^Stopping container c$/);
});

test('a restarted agent adopts running containers instead of restarting them', async () => {
  const n = await startNode('agent-adopt');
  try {
    await client.create(PODS, 'default', pod('adopt1', {}, 'agent-adopt'));
    const p = await waitPod('adopt1', 'Running', (x) => x.status?.phase === 'Running' && x.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    const id = p.status!.containerStatuses![0]!.containerID;
    await n.agent.stop();
    const count = n.runtime.created.length;
    const uid = p.metadata!.uid!;
    const listed = n.runtime.podListings.get(uid) ?? 0;
    const n2 = await startNode('agent-adopt', n);
    n.agent = n2.agent;
    // The new agent's worker syncs the pod one sync after another, each beginning with a listing of the pod's
    // containers: the fourth listing since the restart means three whole syncs had their chance to start something.
    await waitFor('three syncs of adopt1 by the restarted agent', async () => (n.runtime.podListings.get(uid) ?? 0) >= listed + 4, 20_000, 20);
    assert.equal(n.runtime.created.length, count, 'no container was created');
    const after = await getPod('adopt1');
    assert.equal(after.status!.containerStatuses![0]!.containerID, id);
    assert.equal(after.status!.phase, 'Running');
    assert.equal(after.status!.containerStatuses![0]!.restartCount, 0);
    await deletePod('adopt1');
  } finally {
    await n.agent.stop();
  }
});

test('sandboxes and volumes of pods that no longer exist are removed at start', async () => {
  const runtime = new FakeRuntime();
  const volumes = new FakeVolumes(join(tmp, 'vol-orphans'));
  const sb = runtime.addOrphan('0000-orphan-uid', 'gone', 'default');
  volumes.onDisk.add('0000-orphan-uid');
  volumes.onDisk.add('0000-stale-uid');
  const n = await startNode('agent-orphans', { runtime, volumes });
  try {
    await waitFor('the orphan sandbox to be removed', async () => runtime.removedSandboxes.includes(sb) && !runtime.sandboxes.has(sb));
    await waitFor('orphan volumes to be torn down', async () => volumes.tornDown.includes('0000-orphan-uid') && volumes.tornDown.includes('0000-stale-uid'));
    assert.equal(runtime.containers.size, 0);
  } finally {
    await n.agent.stop();
  }
});
