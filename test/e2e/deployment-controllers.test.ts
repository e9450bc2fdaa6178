import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { startFakeKubelet } from '../helpers/fakekubelet.js';

// The ReplicaSet and Deployment controllers beyond the walkthrough: self-healing, adoption and release,
// events, minReadySeconds, Recreate, revisionHistoryLimit, progress deadlines and `rollout restart`.

const PODS = resource('', 'v1', 'pods');
const REPLICASETS = resource('apps', 'v1', 'replicasets');

interface PodView extends KubeObject {
  spec: { containers: Array<{ image: string }> };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

interface Json {
  metadata: { name: string; generation?: number; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean; blockOwnerDeletion?: boolean }> };
  status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

async function getJson<T = Json>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function livePods(c: Cluster, selector: string): Promise<PodView[]> {
  const l = await getJson<{ items: PodView[] }>(c, 'pods', '-l', selector);
  return l.items.filter((p) => !p.metadata.deletionTimestamp);
}

function replicaSetYaml(name: string, replicas: number, minReadySeconds = 0): string {
  return `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  minReadySeconds: ${minReadySeconds}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
        tier: web
    spec:
      containers:
      - name: c
        image: nginx:1.27
`;
}

function deploymentYaml(name: string, image: string, spec: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
${spec}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: c
        image: ${image}
`;
}

test('workload controllers: ReplicaSets and Deployment strategies', { timeout: 600_000 }, async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const kubelet = await startFakeKubelet(c);
  const client = new RestClient(configFromKubeconfig(c.kubeconfig, 'e2e-observer'));
  try {
    await t.test('a ReplicaSet creates its pods, reports status and records SuccessfulCreate', async () => {
      const r = await c.kubectl(['apply', '-f', '-'], { input: replicaSetYaml('rs1', 3) });
      assert.equal(r.code, 0, r.stderr);
      await waitFor('3 ready pods', async () => {
        const rs = await getJson(c, 'rs', 'rs1');
        return rs.status?.readyReplicas === 3 && rs.status?.availableReplicas === 3 && rs.status?.fullyLabeledReplicas === 3 && rs.status?.observedGeneration === rs.metadata.generation;
      });
      const pods = await livePods(c, 'app=rs1');
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.match(p.metadata.name!, /^rs1-[a-z0-9]{5}$/);
        assert.deepEqual(p.metadata.labels, { app: 'rs1', tier: 'web' });
        const ref = p.metadata.ownerReferences?.[0];
        assert.equal(ref?.kind, 'ReplicaSet');
        assert.equal(ref?.name, 'rs1');
        assert.equal(ref?.controller, true);
        assert.equal(ref?.blockOwnerDeletion, true);
      }
      await waitFor('SuccessfulCreate events', async () => {
        const out = await c.k('describe', 'rs', 'rs1');
        return pods.every((p) => out.includes(`Created pod: ${p.metadata.name}`)) && /Normal\s+SuccessfulCreate\s+\S+\s+replicaset-controller/.test(out);
      });
    });

    await t.test('a deleted pod is replaced', async () => {
      const [victim] = await livePods(c, 'app=rs1');
      await c.k('delete', 'pod', victim.metadata.name!, '--wait=false');
      await waitFor('a replacement', async () => {
        const pods = await livePods(c, 'app=rs1');
        return pods.length === 3 && pods.every((p) => p.metadata.name !== victim.metadata.name && p.status?.phase === 'Running');
      });
    });

    await t.test('a matching orphan is adopted, a relabelled pod released and replaced', async () => {
      await c.k('run', 'stray', '--image=nginx:1.27', '--labels=app=rs1,tier=web');
      // Adopted, the orphan makes four: either it stays as rs1's or it is the surplus pod deleted (the RS
      // only deletes pods it owns).
      await waitFor('the orphan adopted and a surplus pod deleted', async () => {
        const stray = await getJson(c, 'pod', 'stray').catch(() => undefined);
        const owned = !!stray?.metadata.ownerReferences?.some((r) => r.kind === 'ReplicaSet' && r.name === 'rs1' && r.controller === true);
        const events = await c.k('describe', 'rs', 'rs1');
        const deleted = /Normal\s+SuccessfulDelete\s+\S+\s+replicaset-controller\s+Deleted pod: /.test(events);
        const strayDeleted = events.includes('Deleted pod: stray');
        return (await livePods(c, 'app=rs1')).length === 3 && deleted && (owned || strayDeleted);
      });
      const [released] = await livePods(c, 'app=rs1');
      await c.k('label', 'pod', released.metadata.name!, 'app=elsewhere', '--overwrite');
      await waitFor('release and replacement', async () => {
        const p = await getJson(c, 'pod', released.metadata.name!);
        const pods = await livePods(c, 'app=rs1');
        return !p.metadata.ownerReferences?.length && pods.length === 3;
      });
    });

    await t.test('scaling down deletes pods and records SuccessfulDelete', async () => {
      await c.k('scale', 'rs', 'rs1', '--replicas=1');
      await waitFor('one pod left', async () => (await livePods(c, 'app=rs1')).length === 1);
      await waitFor('status replicas 1', async () => (await getJson(c, 'rs', 'rs1')).status?.replicas === 1);
    });

    await t.test('minReadySeconds: pods are ready before they count as available', async () => {
      const seen: Array<{ ready: number; available: number }> = [];
      const list = await client.list(REPLICASETS, 'default');
      const w = client.watch(REPLICASETS, 'default', { resourceVersion: list.metadata.resourceVersion, fieldSelector: 'metadata.name=slow' }, (ev) => {
        const s = (ev.object as { status?: { readyReplicas?: number; availableReplicas?: number } }).status;
        seen.push({ ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0 });
      });
      w.done.catch(() => undefined);
      try {
        assert.equal((await c.kubectl(['apply', '-f', '-'], { input: replicaSetYaml('slow', 2, 3) })).code, 0);
        await waitFor('available after minReadySeconds', async () => seen.some((s) => s.available === 2), 30_000);
      } finally {
        w.stop();
      }
      assert.ok(seen.some((s) => s.ready === 2 && s.available < 2), `ready before available: ${JSON.stringify(seen)}`);
    });

    await t.test('Recreate: old pods are gone before new ones start', async () => {
      const yaml = (image: string) => deploymentYaml('rec', image, '  replicas: 3\n  strategy:\n    type: Recreate');
      assert.equal((await c.kubectl(['apply', '-f', '-'], { input: yaml('nginx:1') })).code, 0);
      assert.equal((await c.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=60s'])).code, 0);
      const live = new Map<string, PodView>();
      const mixed: string[] = [];
      const list = await client.list(PODS, 'default', { labelSelector: 'app=rec' });
      for (const p of list.items) live.set(p.metadata.name!, p as PodView);
      const w = client.watch(PODS, 'default', { labelSelector: 'app=rec', resourceVersion: list.metadata.resourceVersion }, (ev) => {
        if (ev.type === 'DELETED') live.delete(ev.object.metadata.name!);
        else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') live.set(ev.object.metadata.name!, ev.object as PodView);
        // Terminating pods count too: Recreate waits until they are really gone.
        const images = new Set([...live.values()].map((p) => p.spec.containers[0].image));
        if (images.size > 1) mixed.push([...live.values()].map((p) => `${p.metadata.name}:${p.spec.containers[0].image}`).join(' '));
      });
      w.done.catch(() => undefined);
      try {
        assert.equal((await c.kubectl(['apply', '-f', '-'], { input: yaml('nginx:2') })).code, 0);
        assert.equal((await c.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=60s'])).code, 0);
        await waitFor('3 new pods', async () => (await livePods(c, 'app=rec')).filter((p) => p.spec.containers[0].image === 'nginx:2').length === 3);
      } finally {
        w.stop();
      }
      assert.deepEqual(mixed, []);
      const events = await c.k('describe', 'deployment', 'rec');
      assert.match(events, /Scaled down replica set rec-\S+ from 3 to 0/);
      assert.match(events, /Scaled up replica set rec-\S+ from 0 to 3/);
    });

    await t.test('revisionHistoryLimit keeps only the newest old ReplicaSets', async () => {
      const yaml = (image: string) => deploymentYaml('hist', image, '  replicas: 1\n  revisionHistoryLimit: 1');
      for (const image of ['nginx:1', 'nginx:2', 'nginx:3', 'nginx:4']) {
        assert.equal((await c.kubectl(['apply', '-f', '-'], { input: yaml(image) })).code, 0);
        assert.equal((await c.kubectl(['rollout', 'status', 'deployment/hist', '--timeout=60s'])).code, 0);
      }
      await waitFor('two ReplicaSets left', async () => {
        const l = await getJson<{ items: Array<{ metadata: { annotations: Record<string, string> } }> }>(c, 'rs', '-l', 'app=hist');
        const revs = l.items.map((r) => r.metadata.annotations['deployment.kubernetes.io/revision']).sort();
        return revs.join(',') === '3,4';
      });
      const hist = await c.k('rollout', 'history', 'deployment/hist');
      assert.match(hist, /^3\s+/m);
      assert.match(hist, /^4\s+/m);
      assert.doesNotMatch(hist, /^[12]\s+/m);
    });

    await t.test('kubectl rollout restart replaces every pod', async () => {
      const before = new Set((await livePods(c, 'app=hist')).map((p) => p.metadata.name));
      assert.match(await c.k('rollout', 'restart', 'deployment/hist'), /restarted/);
      assert.equal((await c.kubectl(['rollout', 'status', 'deployment/hist', '--timeout=60s'])).code, 0);
      await waitFor('new pods only', async () => {
        const pods = await livePods(c, 'app=hist');
        return pods.length === 1 && pods.every((p) => !before.has(p.metadata.name) && p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']);
      });
    });

    await t.test('a rollout that cannot progress exceeds its deadline', async () => {
      // No kubelet binds pods meant for another scheduler, so they never become ready.
      const yaml = deploymentYaml('stuck', 'nginx:1', '  replicas: 2\n  progressDeadlineSeconds: 2').replace('    spec:\n      containers:', '    spec:\n      schedulerName: nobody\n      containers:');
      assert.equal((await c.kubectl(['apply', '-f', '-'], { input: yaml })).code, 0);
      await waitFor(
        'ProgressDeadlineExceeded',
        async () => {
          const d = await getJson(c, 'deploy', 'stuck');
          const p = d.status?.conditions?.find((x) => x.type === 'Progressing');
          return p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded' && /^ReplicaSet "stuck-\S+" has timed out progressing\.$/.test(p.message);
        },
        30_000,
      );
      const r = await c.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=30s']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /exceeded its progress deadline/);
      const d = await getJson(c, 'deploy', 'stuck');
      assert.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
      assert.equal(d.status?.unavailableReplicas, 2);
    });
  } finally {
    client.close();
    await kubelet.stop();
    await c.stop();
  }
});
