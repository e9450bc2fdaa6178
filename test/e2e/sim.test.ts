import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { startSim } from '../helpers/sim.js';

// `kite sim` against a real `kite server`, observed with the real kubectl: nodes register and stay Ready
// through Lease heartbeats; pods bound to them run at once, run-to-completion pods succeed, deleted pods go.

interface Obj {
  metadata: { name: string; uid?: string; deletionTimestamp?: string; creationTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

async function getJson<T = Obj>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

function podManifest(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { schedulerName: 'no-scheduler', containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec } });
}

test('kite sim: nodes register Ready, heartbeat, run, complete and remove their pods', async () => {
  const c = await startCluster();
  const sim = await startSim(c, ['--nodes', '3', '--heartbeat-interval', '500ms', '--pod-run-seconds', '1', '--cpu', '8', '--memory', '32Gi', '--node-labels', 'topology.kubernetes.io/zone=zone-a']);
  try {
    assert.match(sim.output(), /registered 3\/3 nodes/);

    // kubectl get nodes: three Ready nodes with the kubelet version we report.
    const table = await c.k('get', 'nodes');
    const lines = table.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    assert.equal(lines.length, 4, table);
    for (const [i, line] of lines.slice(1).entries()) assert.match(line, new RegExp(`^sim-${i}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.32\\.0-kite-sim$`));
    const wide = await c.k('get', 'nodes', '-o', 'wide');
    assert.match(wide.split('\n')[0]!, /INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME/);
    assert.match(wide, /sim-0\s+Ready.*\s(24\d|25[0-5])\.\d+\.\d+\.1\s+<none>\s+kite simulated node\s+\S+\s+sim:\/\/1\.0\.0/);

    const node = await getJson<Obj & { metadata: { labels: Record<string, string> }; status: { capacity: Record<string, string>; allocatable: Record<string, string>; nodeInfo: Record<string, string>; addresses: Array<{ type: string; address: string }> } }>(c, 'node', 'sim-1');
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'sim-1');
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.equal(node.metadata.labels['kubernetes.io/arch'], 'amd64');
    assert.equal(node.metadata.labels['topology.kubernetes.io/zone'], 'zone-a');
    assert.equal(node.metadata.labels.type, 'sim');
    assert.equal(node.status.capacity.cpu, '8');
    assert.equal(node.status.allocatable.memory, '32Gi');
    assert.equal(node.status.allocatable.pods, '110');
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.0-kite-sim');
    assert.deepEqual(
      (node.status.conditions ?? []).map((x) => `${x.type}=${x.status}`),
      ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
    );

    // One Lease per node in kube-node-lease, renewed over and over.
    const leases = await getJson<{ items: Array<{ metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string }> }; spec: { holderIdentity: string; renewTime: string } }> }>(c, 'leases', '-n', 'kube-node-lease');
    assert.deepEqual(leases.items.map((l) => l.metadata.name).sort(), ['sim-0', 'sim-1', 'sim-2']);
    const lease = leases.items.find((l) => l.metadata.name === 'sim-2')!;
    assert.equal(lease.spec.holderIdentity, 'sim-2');
    assert.deepEqual(lease.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`), ['Node/sim-2']);
    await waitFor('the lease of sim-2 to be renewed', async () => {
      const l = await getJson<{ spec: { renewTime: string } }>(c, 'lease', 'sim-2', '-n', 'kube-node-lease');
      return l.spec.renewTime !== lease.spec.renewTime;
    });
    const describe = await c.k('describe', 'node', 'sim-0');
    assert.match(describe, /Kubelet Version:\s+v1\.32\.0-kite-sim/);
    assert.match(describe, /Ready\s+True\s.*KubeletReady\s+kubelet is posting ready status/);

    // A pod bound to a node runs at once, with an IP from the node's range.
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('web', { nodeName: 'sim-1' }) });
    await c.k('wait', '--for=condition=Ready', 'pod/web', '--timeout=30s');
    const web = await getJson<Obj & { status: { podIP: string; hostIP: string; startTime: string; qosClass: string; containerStatuses: Array<{ ready: boolean; started: boolean; restartCount: number; image: string; imageID: string; containerID: string; state: { running?: { startedAt: string } } }> } }>(c, 'pod', 'web');
    assert.equal(web.status.phase, 'Running');
    assert.equal(web.status.hostIP, node.status.addresses.find((a) => a.type === 'InternalIP')?.address);
    assert.equal(web.status.podIP.split('.').slice(0, 3).join('.'), web.status.hostIP.split('.').slice(0, 3).join('.'));
    assert.equal(web.status.qosClass, 'BestEffort');
    const cs = web.status.containerStatuses[0]!;
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, 'docker.io/library/nginx:1.27');
    assert.match(cs.imageID, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    assert.match(cs.containerID, /^sim:\/\/[0-9a-f]{64}$/);
    assert.ok(cs.state.running?.startedAt);
    for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) assert.equal(web.status.conditions?.find((x) => x.type === t)?.status, 'True', t);
    const wideWeb = await c.k('get', 'pod', 'web', '-o', 'wide');
    assert.match(wideWeb, new RegExp(`web\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${web.status.podIP.replace(/\./g, '\\.')}\\s+sim-1`));

    // A pod left to no scheduler and bound through pods/binding, as a scheduler would, runs too.
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('bound', {}) });
    const binding = JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { apiVersion: 'v1', kind: 'Node', name: 'sim-2' } });
    const r = await c.kubectl(['create', '--raw', '/api/v1/namespaces/default/pods/bound/binding', '-f', '-'], { input: binding });
    assert.equal(r.code, 0, r.stderr);
    await c.k('wait', '--for=condition=Ready', 'pod/bound', '--timeout=30s');

    // Run-to-completion pods succeed after --pod-run-seconds.
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('once', { nodeName: 'sim-0', restartPolicy: 'Never', initContainers: [{ name: 'init', image: 'busybox' }] }) });
    await waitFor('pod once to succeed', async () => (await getJson(c, 'pod', 'once')).status?.phase === 'Succeeded');
    const once = await getJson<Obj & { status: { containerStatuses: Array<{ state: { terminated?: { exitCode: number; reason: string } } }> } }>(c, 'pod', 'once');
    const terminated = once.status.containerStatuses[0]?.state.terminated;
    assert.deepEqual({ code: terminated?.exitCode, reason: terminated?.reason }, { code: 0, reason: 'Completed' });
    assert.match(await c.k('get', 'pod', 'once'), /once\s+0\/1\s+Completed\s+0/);

    // Deleting a pod is over at once: the simulated kubelet finishes the graceful deletion.
    await c.k('delete', 'pod', 'web', '--timeout=20s');
    const gone = await c.kubectl(['get', 'pod', 'web']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);

    // Stopping the simulator leaves its nodes registered (their heartbeats just stop).
    await sim.stop();
    assert.match(sim.output(), /SIGTERM received/);
    const after = await c.k('get', 'nodes', '--no-headers');
    assert.equal(after.trim().split('\n').length, 3);
  } finally {
    await sim.kill9();
    await c.stop();
  }
});

test('kite sim: a restarted simulator adopts its nodes and their pods', async () => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'nodelifecycle,taint-eviction-controller,podgc'] });
  let sim = await startSim(c, ['--nodes', '2', '--name-prefix', 'r-', '--heartbeat-interval', '500ms']);
  try {
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('keep', { nodeName: 'r-1' }) });
    await c.k('wait', '--for=condition=Ready', 'pod/keep', '--timeout=30s');
    const before = await getJson<Obj & { status: { podIP: string; startTime: string } }>(c, 'pod', 'keep');
    const nodeBefore = await getJson(c, 'node', 'r-1');
    await sim.kill9();

    sim = await startSim(c, ['--nodes', '2', '--name-prefix', 'r-', '--heartbeat-interval', '500ms']);
    assert.match(sim.output(), /registered 2\/2 nodes/);
    const nodeAfter = await getJson(c, 'node', 'r-1');
    assert.equal(nodeAfter.metadata.uid, nodeBefore.metadata.uid, 'the same Node object');
    assert.equal(nodeAfter.spec?.podCIDR, nodeBefore.spec?.podCIDR);
    const after = await getJson<Obj & { status: { podIP: string; startTime: string } }>(c, 'pod', 'keep');
    assert.equal(after.status.podIP, before.status.podIP);
    assert.equal(after.status.startTime, before.status.startTime);
    assert.equal(after.status.phase, 'Running');
    assert.match(await c.k('get', 'nodes', '--no-headers'), /r-0\s+Ready[\s\S]*r-1\s+Ready/);
  } finally {
    await sim.kill9();
    await c.stop();
  }
});
