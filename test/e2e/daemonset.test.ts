import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { PodSim, PodWatch } from '../helpers/podsim.js';

// DaemonSets against a real `kite server` and five simulated nodes, one of them tainted; the scheduler is
// off, so the pod simulator binds each daemon pod to the node its affinity names.

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function agentPods(c: Cluster): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(c, 'pods', '-n', 'kube-system', '-l', 'app=agent')).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const DS = `
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: kube-system }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      containers: [ { name: agent, image: "agent:1" } ]
`;

test('DaemonSet: one pod per eligible node, rolling update, nodes coming and going', async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const sim = await PodSim.start({
    kubeconfig: c.kubeconfig,
    nodes: ['n1', 'n2', 'n3', 'n4', { name: 'n5', taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }],
  });
  try {
    await t.test('five nodes, one tainted: four daemon pods', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: DS });
      await waitFor('four available daemon pods', async () => (await getJson<DaemonSet>(c, 'ds', 'agent', '-n', 'kube-system')).status?.numberAvailable === 4, 30_000);
      const out = await c.k('get', 'ds', '-n', 'kube-system');
      assert.match(out, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\n/);
      assert.match(out, /\nagent\s+4\s+4\s+4\s+4\s+4\s+<none>\s+\d+s\n/);
      const ds = await getJson<DaemonSet>(c, 'ds', 'agent', '-n', 'kube-system');
      assert.equal(ds.status?.observedGeneration, ds.metadata?.generation);
      assert.deepEqual([ds.status?.desiredNumberScheduled, ds.status?.currentNumberScheduled, ds.status?.numberMisscheduled, ds.status?.numberReady, ds.status?.updatedNumberScheduled], [4, 4, 0, 4, 4]);
      const pods = await agentPods(c);
      assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), ['n1', 'n2', 'n3', 'n4']);
      for (const p of pods) {
        assert.match(p.metadata?.name ?? '', /^agent-[a-z0-9]{5}$/);
        assert.deepEqual(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec?.nodeName] }] }],
        });
        const tolerated = (p.spec?.tolerations ?? []).map((x) => `${x.key}:${x.effect}`);
        for (const want of [
          'node.kubernetes.io/not-ready:NoExecute',
          'node.kubernetes.io/unreachable:NoExecute',
          'node.kubernetes.io/disk-pressure:NoSchedule',
          'node.kubernetes.io/memory-pressure:NoSchedule',
          'node.kubernetes.io/pid-pressure:NoSchedule',
          'node.kubernetes.io/unschedulable:NoSchedule',
        ])
          assert.ok(tolerated.includes(want), `${p.metadata?.name} tolerates ${want}`);
        assert.ok(p.metadata?.labels?.['controller-revision-hash']);
        assert.deepEqual(p.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['DaemonSet', 'agent', true]]);
      }
      const revs = (await getJson<{ items: ControllerRevision[] }>(c, 'controllerrevisions', '-n', 'kube-system')).items;
      assert.equal(revs.length, 1);
      assert.equal(revs[0]!.revision, 1);
      assert.equal(revs[0]!.metadata?.name, `agent-${pods[0]!.metadata?.labels?.['controller-revision-hash']}`);
    });

    await t.test('a rolling update replaces one node at a time', async () => {
      const watch = await PodWatch.start(c.kubeconfig, 'kube-system', 'app=agent');
      try {
        await c.k('set', 'image', 'ds/agent', '-n', 'kube-system', 'agent=agent:2');
        await c.k('rollout', 'status', 'ds/agent', '-n', 'kube-system', '--timeout=60s');
        await waitFor('every pod on the new image', async () => {
          const pods = await agentPods(c);
          return pods.length === 4 && pods.every((p) => p.spec?.containers[0]?.image === 'agent:2' && p.status?.phase === 'Running');
        });
        // maxUnavailable is 1: at every moment at least three nodes had a ready, undeleted daemon pod.
        let least = 4;
        let started = false;
        watch.replay((pods) => {
          const nodes = new Set([...pods.values()].filter((p) => p.ready && !p.deleting && p.node).map((p) => p.node));
          if (nodes.size === 4) started = true;
          if (started) least = Math.min(least, nodes.size);
        });
        assert.equal(least, 3, 'never more than one node without an available daemon pod');
        const revs = (await getJson<{ items: ControllerRevision[] }>(c, 'controllerrevisions', '-n', 'kube-system')).items;
        assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
        const history = await c.k('rollout', 'history', 'ds/agent', '-n', 'kube-system');
        assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
        const ds = await getJson<DaemonSet>(c, 'ds', 'agent', '-n', 'kube-system');
        assert.equal(ds.status?.updatedNumberScheduled, 4);
      } finally {
        watch.stop();
      }
    });

    await t.test('a new node gets a pod; a NoExecute taint removes it', async () => {
      await sim.addNode({ name: 'n6' });
      await waitFor('a pod on n6', async () => (await agentPods(c)).some((p) => p.spec?.nodeName === 'n6' && p.status?.phase === 'Running'), 30_000);
      await waitFor('five desired', async () => (await getJson<DaemonSet>(c, 'ds', 'agent', '-n', 'kube-system')).status?.numberAvailable === 5);
      await c.k('taint', 'node', 'n2', 'maintenance=now:NoExecute');
      await waitFor('the pod on n2 to go', async () => !(await agentPods(c)).some((p) => p.spec?.nodeName === 'n2'), 30_000);
      await waitFor('four desired again', async () => {
        const st = (await getJson<DaemonSet>(c, 'ds', 'agent', '-n', 'kube-system')).status;
        return st?.desiredNumberScheduled === 4 && st.currentNumberScheduled === 4 && st.numberMisscheduled === 0;
      });
    });

    assert.deepEqual(sim.errors, []);
  } finally {
    await sim.stop();
    await c.stop();
  }
});
