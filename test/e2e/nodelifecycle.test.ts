import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { startSim, type SimProcess } from '../helpers/sim.js';

// The node lifecycle, taint eviction and pod GC controllers with simulated nodes: a node whose simulator
// dies becomes Unknown and tainted, its pods are evicted after their tolerations, it recovers when its
// simulator comes back, and pods bound to a deleted node are garbage-collected.

interface Taint {
  key: string;
  effect: string;
  timeAdded?: string;
}
interface NodeJson {
  metadata: { name: string };
  spec: { taints?: Taint[] };
  status: { conditions: Array<{ type: string; status: string; reason?: string; message?: string }> };
}
interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; tolerations?: Array<{ key?: string; effect?: string; tolerationSeconds?: number }> };
  status: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string }> };
}

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function exists(c: Cluster, ...args: string[]): Promise<boolean> {
  const r = await c.kubectl(['get', ...args, '-o', 'name']);
  if (r.code === 0) return true;
  if (/NotFound/.test(r.stderr)) return false;
  throw new Error(r.stderr);
}

function pod(name: string, nodeName: string, tolerations?: unknown[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'lifecycle' } },
    spec: { schedulerName: 'no-scheduler', nodeName, containers: [{ name: 'app', image: 'nginx' }], ...(tolerations ? { tolerations } : {}) },
  });
}

async function eventsFor(c: Cluster, name: string): Promise<string> {
  return c.k('get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'custom-columns=REASON:.reason,MESSAGE:.message', '--no-headers');
}

test('a node whose simulator dies turns Unknown, is tainted, loses its pods after their tolerations, and recovers', async () => {
  const c = await startCluster({ extraArgs: ['--node-monitor-grace-period', '3s'] });
  const sims: SimProcess[] = [];
  try {
    sims.push(await startSim(c, ['--nodes', '2', '--name-prefix', 'a-', '--heartbeat-interval', '500ms']));
    let b = await startSim(c, ['--nodes', '1', '--name-prefix', 'b-', '--heartbeat-interval', '500ms']);
    sims.push(b);
    const unreachable = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' };
    await c.kubectl(['apply', '-f', '-'], { input: pod('brief', 'b-0', [{ ...unreachable, tolerationSeconds: 2 }]) });
    await c.kubectl(['apply', '-f', '-'], { input: pod('steadfast', 'b-0', [unreachable]) });
    await c.kubectl(['apply', '-f', '-'], { input: pod('ordinary', 'b-0') });
    await c.kubectl(['apply', '-f', '-'], { input: pod('elsewhere', 'a-0') });
    for (const p of ['brief', 'steadfast', 'ordinary', 'elsewhere']) await c.k('wait', '--for=condition=Ready', `pod/${p}`, '--timeout=30s');

    // Admission gave the pod without tolerations the default ones, bounded.
    const ordinary = await getJson<PodJson>(c, 'pod', 'ordinary');
    const defaults = (ordinary.spec.tolerations ?? []).filter((t) => t.effect === 'NoExecute').map((t) => t.key).sort();
    assert.deepEqual(defaults, ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    assert.ok((ordinary.spec.tolerations ?? []).every((t) => (t.tolerationSeconds ?? 0) > 60), 'default tolerations are long');

    await b.kill9();

    // Past the grace period the node is Unknown, then tainted unreachable (NoSchedule and NoExecute).
    await waitFor('b-0 to become NotReady', async () => / NotReady /.test(` ${(await c.k('get', 'node', 'b-0', '--no-headers')).replace(/\s+/g, ' ')}`), 30_000);
    const dead = await getJson<NodeJson>(c, 'node', 'b-0');
    const ready = dead.status.conditions.find((x) => x.type === 'Ready')!;
    assert.deepEqual({ status: ready.status, reason: ready.reason, message: ready.message }, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(dead.status.conditions.find((x) => x.type === t)?.status, 'Unknown', t);
    const tainted = await waitFor(
      'b-0 to be tainted unreachable:NoExecute',
      async () => {
        const n = await getJson<NodeJson>(c, 'node', 'b-0');
        return (n.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
      },
      30_000,
    );
    const noExecute = tainted.spec.taints!.find((t) => t.effect === 'NoExecute')!;
    assert.ok(noExecute.timeAdded && !Number.isNaN(Date.parse(noExecute.timeAdded)), 'the taint carries timeAdded');
    await waitFor('the unreachable:NoSchedule taint', async () => ((await getJson<NodeJson>(c, 'node', 'b-0')).spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule'));
    assert.match(await c.k('describe', 'node', 'b-0'), /Taints:\s+node\.kubernetes\.io\/unreachable:No(Execute|Schedule)/);

    // The healthy nodes are untouched.
    for (const n of ['a-0', 'a-1']) {
      const healthy = await getJson<NodeJson>(c, 'node', n);
      assert.equal(healthy.status.conditions.find((x) => x.type === 'Ready')?.status, 'True', n);
      assert.deepEqual(healthy.spec.taints ?? [], [], n);
    }

    // The pod tolerating 2 s is evicted; the one tolerating forever and the one with 300 s stay, not ready.
    await waitFor('pod brief to be evicted', async () => !(await exists(c, 'pod', 'brief')) || !!(await getJson<PodJson>(c, 'pod', 'brief')).metadata.deletionTimestamp, 30_000);
    const brief = await c.kubectl(['get', 'pod', 'brief', '-o', 'json']);
    if (brief.code === 0) {
      const target = (JSON.parse(brief.stdout) as PodJson).status.conditions?.find((x) => x.type === 'DisruptionTarget');
      assert.deepEqual(target && { status: target.status, reason: target.reason }, { status: 'True', reason: 'DeletionByTaintManager' });
    }
    await waitFor('the TaintManagerEviction event', async () => /TaintManagerEviction\s+Marking for deletion Pod default\/brief/.test(await eventsFor(c, 'brief')));
    for (const p of ['steadfast', 'ordinary']) {
      const left = await getJson<PodJson>(c, 'pod', p);
      assert.equal(left.metadata.deletionTimestamp, undefined, `${p} is not evicted`);
      await waitFor(`${p} to be marked not ready`, async () => (await getJson<PodJson>(c, 'pod', p)).status.conditions?.find((x) => x.type === 'Ready')?.status === 'False');
    }
    assert.match(await eventsFor(c, 'ordinary'), /NodeNotReady\s+Node is not ready/);
    assert.match(await eventsFor(c, 'b-0'), /NodeNotReady\s+Node b-0 status is now: NodeNotReady/);
    assert.equal((await getJson<PodJson>(c, 'pod', 'elsewhere')).status.conditions?.find((x) => x.type === 'Ready')?.status, 'True');

    // The simulator comes back: the node is Ready again, untainted, and its pods Ready.
    b = await startSim(c, ['--nodes', '1', '--name-prefix', 'b-', '--heartbeat-interval', '500ms']);
    sims.push(b);
    await waitFor('b-0 to be Ready and untainted', async () => {
      const n = await getJson<NodeJson>(c, 'node', 'b-0');
      return n.status.conditions.find((x) => x.type === 'Ready')?.status === 'True' && (n.spec.taints ?? []).length === 0;
    });
    await c.k('wait', '--for=condition=Ready', 'pod/ordinary', 'pod/steadfast', '--timeout=30s');
    await waitFor('the evicted pod to be gone', async () => !(await exists(c, 'pod', 'brief')));

    // A deleted node's pods are garbage-collected.
    await c.k('delete', 'node', 'b-0');
    await waitFor('pods bound to the deleted node to be collected', async () => !(await exists(c, 'pod', 'ordinary')) && !(await exists(c, 'pod', 'steadfast')), 30_000);
    assert.ok(await exists(c, 'pod', 'elsewhere'));
  } finally {
    for (const s of sims) await s.kill9();
    await c.stop();
  }
});

test('with every node silent the controller evicts nothing (master disruption mode)', async () => {
  const c = await startCluster({ extraArgs: ['--node-monitor-grace-period', '2s'] });
  const sim = await startSim(c, ['--nodes', '2', '--name-prefix', 'solo-', '--heartbeat-interval', '500ms']);
  try {
    await c.kubectl(['apply', '-f', '-'], { input: pod('survivor', 'solo-0', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 }]) });
    await c.k('wait', '--for=condition=Ready', 'pod/survivor', '--timeout=30s');
    await sim.kill9();
    await waitFor('both nodes to be Unknown', async () => {
      const list = await getJson<{ items: NodeJson[] }>(c, 'nodes');
      return list.items.every((n) => n.status.conditions.find((x) => x.type === 'Ready')?.status === 'Unknown');
    }, 30_000);
    await waitFor('the controller to report master disruption mode', async () => /entering master disruption mode/.test(c.logs()), 30_000);
    await waitFor('no node to carry a NoExecute taint', async () => {
      const list = await getJson<{ items: NodeJson[] }>(c, 'nodes');
      return list.items.every((n) => !(n.spec.taints ?? []).some((t) => t.effect === 'NoExecute'));
    });
    assert.equal((await getJson<PodJson>(c, 'pod', 'survivor')).metadata.deletionTimestamp, undefined);
  } finally {
    await sim.kill9();
    await c.stop();
  }
});

test('acceptance: stopping one of two simulators moves its pods to the other one and the deployment is whole again', async () => {
  const c = await startCluster({ extraArgs: ['--node-monitor-grace-period', '3s', '--default-unreachable-toleration-seconds', '2'] });
  const sims: SimProcess[] = [];
  try {
    // The second simulator starts first, so that the deployment's first pod certainly lands on its node.
    const second = await startSim(c, ['--nodes', '1', '--name-prefix', 'second-', '--heartbeat-interval', '500ms']);
    sims.push(second);
    await c.k('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=1');
    await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
    sims.push(await startSim(c, ['--nodes', '2', '--name-prefix', 'first-', '--heartbeat-interval', '500ms']));
    await c.k('scale', 'deployment/web', '--replicas=3');
    await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');

    const pods = await getJson<{ items: PodJson[] }>(c, 'pods', '-l', 'app=web');
    const onSecond = pods.items.filter((p) => p.spec.nodeName === 'second-0').map((p) => p.metadata.name);
    assert.ok(onSecond.length >= 1, 'a pod runs on the second simulator’s node');
    // The API server's admission gave every pod the configured default tolerations.
    for (const p of pods.items) {
      const tol = (p.spec.tolerations ?? []).find((t) => t.key === 'node.kubernetes.io/unreachable');
      assert.equal(tol?.tolerationSeconds, 2, p.metadata.name);
    }

    await second.kill9();

    await waitFor(
      'the deployment to be whole again on the first simulator’s nodes',
      async () => {
        const list = await getJson<{ items: PodJson[] }>(c, 'pods', '-l', 'app=web');
        const live = list.items.filter((p) => !p.metadata.deletionTimestamp);
        const ready = live.filter((p) => p.status.conditions?.find((x) => x.type === 'Ready')?.status === 'True');
        return live.length === 3 && ready.length === 3 && live.every((p) => p.spec.nodeName?.startsWith('first-'));
      },
      60_000,
    );
    await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
    assert.match(await c.k('get', 'deployment', 'web', '--no-headers'), /^web\s+3\/3\s+3\s+3\s/);
    // The pods of the lost node were evicted, not merely abandoned.
    for (const name of onSecond) {
      const r = await c.kubectl(['get', 'pod', name, '-o', 'json']);
      if (r.code === 0) assert.ok((JSON.parse(r.stdout) as PodJson).metadata.deletionTimestamp, `${name} is being deleted`);
      assert.match(await eventsFor(c, name), /TaintManagerEviction\s+Marking for deletion Pod default\//);
    }
    assert.match(await c.k('get', 'nodes', 'second-0', '--no-headers'), /second-0\s+NotReady/);
  } finally {
    for (const s of sims) await s.kill9();
    await c.stop();
  }
});
