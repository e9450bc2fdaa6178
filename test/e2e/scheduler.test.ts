import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// The scheduler inside `kite server`, driven by the real kubectl: nodes are plain Node objects (no agent),
// pods land where kube-scheduler would put them, and pods that fit nowhere say why in kube-scheduler's words.

interface NodeSpec {
  name: string;
  cpu: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
}

function nodeYaml(n: NodeSpec): string {
  const labels = { 'kubernetes.io/hostname': n.name, ...(n.labels ?? {}) };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels },
    spec: n.taints ? { taints: n.taints } : {},
    status: {
      capacity: { cpu: n.cpu, memory: n.memory ?? '8Gi', pods: String(n.pods ?? 110) },
      allocatable: { cpu: n.cpu, memory: n.memory ?? '8Gi', pods: String(n.pods ?? 110) },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  });
}

interface PodSpecOpts {
  cpu?: string;
  labels?: Record<string, string>;
  spec?: Record<string, unknown>;
}

function podYaml(name: string, o: PodSpecOpts = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: o.labels ?? { app: name } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}) }],
      ...(o.spec ?? {}),
    },
  });
}

describe('scheduler', { concurrency: false }, () => {
  let c: Cluster;

  const create = async (yaml: string) => {
    const r = await c.kubectl(['create', '-f', '-'], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
  };
  const nodeOf = (pod: string) => c.k('get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}');
  const waitScheduled = (pod: string, timeoutMs = 20_000) => waitFor(`pod ${pod} to be scheduled`, async () => (await nodeOf(pod)) || undefined, timeoutMs);
  /** The NODE column of `kubectl get pod -o wide`. */
  const wideNode = async (pod: string) => {
    const [header, row] = (await c.k('get', 'pod', pod, '-o', 'wide')).trim().split('\n');
    const col = header.indexOf('NODE ');
    assert.ok(col > 0, header);
    return row.slice(col).split(/\s+/)[0];
  };
  /** The message of the first event with `reason` about `pod`, once there is one. */
  const eventMessage = (pod: string, reason: string) =>
    waitFor(`a ${reason} event for ${pod}`, async () => {
      const out = await c.k('get', 'events', '--field-selector', `involvedObject.name=${pod},reason=${reason}`, '-o', 'jsonpath={.items[*].message}');
      return out.trim() || undefined;
    });
  const failedScheduling = (pod: string) => eventMessage(pod, 'FailedScheduling');

  before(async () => {
    // Long grace so no lifecycle controller decides these agent-less nodes are gone during the test.
    c = await startCluster({ extraArgs: ['--node-monitor-grace-period', '1h'] });
    const nodes: NodeSpec[] = [
      { name: 'cp', cpu: '4', labels: { 'node-role.kubernetes.io/control-plane': '' }, taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
      { name: 'w1', cpu: '2', labels: { disk: 'hdd' } },
      { name: 'w2', cpu: '2', labels: { disk: 'ssd' } },
    ];
    for (const n of nodes) await create(nodeYaml(n));
  });

  after(async () => {
    await c?.stop();
  });

  it('places pods by nodeSelector, tolerations and resources, as `kubectl get pod -o wide` shows', async () => {
    await create(podYaml('ssd', { cpu: '500m', spec: { nodeSelector: { disk: 'ssd' } } }));
    await create(
      podYaml('on-cp', {
        spec: {
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }] } } },
        },
      }),
    );
    // Both workers can take 1.5 cpu; the emptier w1 scores higher (least allocated, balanced allocation).
    await create(podYaml('big-1', { cpu: '1500m' }));
    await waitScheduled('ssd');
    await waitScheduled('on-cp');
    await waitScheduled('big-1');
    assert.equal(await wideNode('ssd'), 'w2');
    assert.equal(await wideNode('on-cp'), 'cp');
    assert.equal(await wideNode('big-1'), 'w1');
    const cond = JSON.parse(await c.k('get', 'pod', 'ssd', '-o', 'jsonpath={.status.conditions}')) as Array<{ type: string; status: string }>;
    assert.ok(cond.some((x) => x.type === 'PodScheduled' && x.status === 'True'));
    assert.equal(await eventMessage('ssd', 'Scheduled'), 'Successfully assigned default/ssd to w2');
  });

  it('explains why a pod fits nowhere, in kube-scheduler’s words, and places it when a node joins', async () => {
    await create(podYaml('huge', { cpu: '3' }));
    const msg = await failedScheduling('huge');
    assert.equal(
      msg,
      '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..',
    );
    const describe = await c.k('describe', 'pod', 'huge');
    assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 1 node\(s\) had untolerated taint/);
    const cond = await waitFor('the PodScheduled=False condition', async () => {
      const all = JSON.parse((await c.k('get', 'pod', 'huge', '-o', 'jsonpath={.status.conditions}')) || '[]') as Array<{ type: string; status: string; reason?: string; message?: string }>;
      return all.find((x) => x.type === 'PodScheduled' && x.status === 'False');
    });
    assert.equal(cond.reason, 'Unschedulable');
    assert.equal(cond.message, msg);
    assert.equal((await c.k('get', 'pod', 'huge', '-o', 'wide')).split('\n')[1].split(/\s+/)[2], 'Pending');

    // A new node is a cluster change that can help: the pod is tried again and lands there.
    await create(nodeYaml({ name: 'w3', cpu: '8' }));
    await waitScheduled('huge');
    assert.equal(await wideNode('huge'), 'w3');
  });

  it('keeps anti-affine pods apart and respects host ports', async () => {
    const anti = (name: string) =>
      podYaml(name, {
        labels: { app: 'spread' },
        spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] } } },
      });
    for (const n of ['spread-1', 'spread-2', 'spread-3']) await create(anti(n));
    const nodes = await Promise.all(['spread-1', 'spread-2', 'spread-3'].map((n) => waitScheduled(n)));
    assert.equal(new Set(nodes).size, 3, `one per node: ${nodes}`);
    assert.ok(!nodes.includes('cp'));
    // Three untainted nodes, three replicas: a fourth has nowhere to go.
    await create(anti('spread-4'));
    const msg = await failedScheduling('spread-4');
    assert.match(msg, /^0\/4 nodes are available: 1 node\(s\) had untolerated taint \{node-role.kubernetes.io\/control-plane: \}, 3 node\(s\) didn't match pod anti-affinity rules\. preemption: /);

    const hostPort = (name: string) => podYaml(name, { spec: { nodeSelector: { disk: 'hdd' }, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 80, hostPort: 8080 }] }] } });
    await create(hostPort('port-1'));
    assert.equal(await waitScheduled('port-1'), 'w1');
    await create(hostPort('port-2'));
    assert.match(await failedScheduling('port-2'), /1 node\(s\) didn't have free ports for the requested pod ports/);
  });

  it('leaves pods that name another scheduler alone', async () => {
    await create(podYaml('other', { spec: { schedulerName: 'my-scheduler' } }));
    // A pod created after it and bound by us shows the scheduler has seen both.
    await create(podYaml('after-other'));
    await waitScheduled('after-other');
    assert.equal(await nodeOf('other'), '');
    const pod = JSON.parse(await c.k('get', 'pod', 'other', '-o', 'json')) as { status?: { conditions?: Array<{ type: string }> } };
    assert.ok(!(pod.status?.conditions ?? []).some((x) => x.type === 'PodScheduled'), 'no PodScheduled condition');
    const events = await c.k('get', 'events', '--field-selector', 'involvedObject.name=other', '-o', 'jsonpath={.items[*].reason}');
    assert.equal(events.trim(), '');
  });

  it('preempts lower-priority pods for a higher-priority one, unless its policy is Never', async () => {
    await create(nodeYaml({ name: 'pre', cpu: '2', labels: { pool: 'pre' } }));
    await create(JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 }));
    await create(JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high-never' }, value: 1000, preemptionPolicy: 'Never' }));
    const inPool = { nodeSelector: { pool: 'pre' } };
    await create(podYaml('victim', { cpu: '1500m', spec: inPool }));
    assert.equal(await waitScheduled('victim'), 'pre');

    await create(podYaml('polite', { cpu: '1500m', spec: { ...inPool, priorityClassName: 'high-never' } }));
    const polite = await failedScheduling('polite');
    assert.equal(
      polite,
      "0/5 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 node(s) didn't match Pod's node affinity/selector. preemption: not eligible due to preemptionPolicy=Never..",
    );

    await create(podYaml('vip', { cpu: '1500m', spec: { ...inPool, priorityClassName: 'high' } }));
    await waitFor('the victim to be gone', async () => (await c.kubectl(['get', 'pod', 'victim'])).code !== 0);
    assert.equal(await waitScheduled('vip'), 'pre');
    const vipUid = await c.k('get', 'pod', 'vip', '-o', 'jsonpath={.metadata.uid}');
    assert.equal(await eventMessage('victim', 'Preempted'), `Preempted by pod ${vipUid} on node pre`);
    // The polite pod, same priority as the winner, still waits.
    assert.equal(await nodeOf('polite'), '');
  });
});
