import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/object.js';
import { RestClient, configFromKubeconfig, resource, type WatchHandle } from '../../src/client/rest.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { startFakeKubelet } from '../helpers/fakekubelet.js';

// The keynote walkthrough with the real kubectl: create, scale, apply, a rolling update watched pod by pod,
// rollout status, history, undo, pause and resume. The fake kubelet binds and starts pods, so the scheduler
// is off and the test depends on nothing but the workload controllers.

const PODS = resource('', 'v1', 'pods');

interface PodView extends KubeObject {
  spec: { containers: Array<{ image: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

function ghostYaml(replicas: number, image: string, cause: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghost
  labels:
    app: ghost
  annotations:
    kubernetes.io/change-cause: ${cause}
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
`;
}

const isReady = (p: PodView) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Follows the pods of the default namespace and checks the rolling-update bounds after every event. */
class PodObserver {
  private readonly pods = new Map<string, PodView>();
  private handle: WatchHandle | undefined;
  readonly violations: string[] = [];
  maxPods = 0;
  minAvailable = Infinity;
  readonly imagesSeen = new Set<string>();

  constructor(
    private readonly client: RestClient,
    private readonly maxTotal: number,
    private readonly minReady: number,
  ) {}

  async start(): Promise<void> {
    const list = await this.client.list(PODS, 'default', { labelSelector: 'app=ghost' });
    for (const p of list.items) this.pods.set(p.metadata.name!, p as PodView);
    this.check('initial list');
    this.handle = this.client.watch(PODS, 'default', { labelSelector: 'app=ghost', resourceVersion: list.metadata.resourceVersion }, (ev) => {
      if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
      const p = ev.object as PodView;
      if (ev.type === 'DELETED') this.pods.delete(p.metadata.name!);
      else this.pods.set(p.metadata.name!, p);
      this.check(`${ev.type} ${p.metadata.name} rv=${p.metadata.resourceVersion}`);
    });
    this.handle.done.catch(() => undefined);
  }

  live(): PodView[] {
    return [...this.pods.values()].filter((p) => !p.metadata.deletionTimestamp);
  }

  private check(at: string): void {
    const live = this.live();
    const available = live.filter(isReady).length;
    for (const p of live) this.imagesSeen.add(p.spec.containers[0].image);
    this.maxPods = Math.max(this.maxPods, live.length);
    this.minAvailable = Math.min(this.minAvailable, available);
    if (live.length > this.maxTotal || available < this.minReady) {
      this.violations.push(`${at}: ${live.length} pods (max ${this.maxTotal}), ${available} available (min ${this.minReady}): ${live.map((p) => `${p.metadata.name}${isReady(p) ? '' : '(not ready)'}`).join(' ')}`);
    }
  }

  stop(): void {
    this.handle?.stop();
  }
}

async function rolloutStatus(c: Cluster): Promise<string> {
  const r = await c.kubectl(['rollout', 'status', 'deployment/ghost', '--timeout=90s'], { timeoutMs: 100_000 });
  assert.equal(r.code, 0, `rollout status failed: ${r.stderr}${r.stdout}`);
  assert.match(r.stdout, /deployment "ghost" successfully rolled out/);
  return r.stdout;
}

async function liveImages(c: Cluster): Promise<string[]> {
  const pods = JSON.parse(await c.k('get', 'pods', '-l', 'app=ghost', '-o', 'json')) as { items: PodView[] };
  return pods.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.containers[0].image);
}

async function replicaSetNames(c: Cluster): Promise<string[]> {
  return (await c.k('get', 'rs', '-l', 'app=ghost', '-o', 'jsonpath={.items[*].metadata.name}')).split(/\s+/).filter(Boolean);
}

test('the keynote walkthrough: a Deployment rolled out, rolled back, paused and resumed server-side', { timeout: 600_000 }, async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const kubelet = await startFakeKubelet(c);
  const client = new RestClient(configFromKubeconfig(c.kubeconfig, 'e2e-observer'));
  const dir = mkdtempSync(join(tmpdir(), 'kite-deploy-'));
  const file = join(dir, 'ghost.yaml');
  try {
    await t.test('kubectl create deployment starts one pod', async () => {
      assert.match(await c.k('create', 'deployment', 'ghost', '--image=ghost:0.7.7'), /deployment.apps\/ghost created/);
      await rolloutStatus(c);
      assert.deepEqual(await liveImages(c), ['ghost:0.7.7']);
      const [rs] = await replicaSetNames(c);
      assert.match(rs, /^ghost-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
      const hash = await c.k('get', 'rs', rs, '-o', 'jsonpath={.metadata.labels.pod-template-hash}');
      assert.equal(rs, `ghost-${hash}`);
      const pods = (await c.k('get', 'pods', '-l', 'app=ghost', '-o', 'jsonpath={.items[*].metadata.name}')).split(/\s+/);
      assert.match(pods[0], new RegExp(`^${rs}-[a-z0-9]{5}$`));
      assert.equal(await c.k('get', 'deploy', 'ghost', '-o', 'jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}'), '1');
    });

    await t.test('kubectl scale to 3', async () => {
      assert.match(await c.k('scale', 'deployment', 'ghost', '--replicas=3'), /scaled/);
      await rolloutStatus(c);
      assert.equal((await liveImages(c)).length, 3);
    });

    await t.test('kubectl apply -f with replicas 5 scales without a new revision', async () => {
      writeFileSync(file, ghostYaml(5, 'ghost:0.7.7', 'keynote scale to 5'));
      const r = await c.kubectl(['apply', '-f', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment.apps\/ghost configured/);
      await rolloutStatus(c);
      assert.equal((await liveImages(c)).length, 5);
      assert.equal((await replicaSetNames(c)).length, 1);
    });

    await t.test('image 0.7.8 rolls out within maxSurge and maxUnavailable at every observed moment', async () => {
      // 25% of 5: surge rounds up to 2, unavailable rounds down to 1.
      const observer = new PodObserver(client, 5 + 2, 5 - 1);
      await observer.start();
      try {
        writeFileSync(file, ghostYaml(5, 'ghost:0.7.8', 'keynote image 0.7.8'));
        assert.match(await c.k('apply', '-f', file), /deployment.apps\/ghost configured/);
        await rolloutStatus(c);
        await waitFor('old pods to be gone', async () => (await liveImages(c)).every((i) => i === 'ghost:0.7.8'));
      } finally {
        observer.stop();
      }
      assert.deepEqual(observer.violations, []);
      assert.ok(observer.imagesSeen.has('ghost:0.7.8'));
      assert.ok(observer.maxPods > 5, `the rollout surged (max ${observer.maxPods} pods at once)`);
      assert.deepEqual(await liveImages(c), Array(5).fill('ghost:0.7.8'));
      assert.equal(await c.k('get', 'deploy', 'ghost', '-o', 'jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}'), '2');
    });

    await t.test('kubectl rollout history lists revisions 1 and 2 with their change causes', async () => {
      const out = await c.k('rollout', 'history', 'deployment/ghost');
      assert.match(out, /^REVISION\s+CHANGE-CAUSE$/m);
      assert.match(out, /^1\s+keynote scale to 5$/m);
      assert.match(out, /^2\s+keynote image 0\.7\.8$/m);
      assert.match(await c.k('rollout', 'history', 'deployment/ghost', '--revision=1'), /Image:\s+ghost:0\.7\.7/);
    });

    await t.test('kubectl rollout undo brings 0.7.7 back as revision 3', async () => {
      assert.match(await c.k('rollout', 'undo', 'deployment/ghost'), /deployment.apps\/ghost rolled back/);
      await rolloutStatus(c);
      await waitFor('0.7.8 pods to be gone', async () => (await liveImages(c)).every((i) => i === 'ghost:0.7.7'));
      assert.deepEqual(await liveImages(c), Array(5).fill('ghost:0.7.7'));
      const out = await c.k('rollout', 'history', 'deployment/ghost');
      assert.match(out, /^2\s+/m);
      assert.match(out, /^3\s+/m);
      assert.doesNotMatch(out, /^1\s+/m);
      assert.equal((await replicaSetNames(c)).length, 2, 'undo reuses the revision-1 ReplicaSet');
    });

    await t.test('a paused Deployment does not roll out, and resumes when told', async () => {
      assert.match(await c.k('rollout', 'pause', 'deployment/ghost'), /paused/);
      const undo = await c.kubectl(['rollout', 'undo', 'deployment/ghost']);
      assert.notEqual(undo.code, 0, 'kubectl refuses to roll back a paused deployment');
      await c.k('set', 'image', 'deployment/ghost', 'ghost=ghost:0.7.9');
      await waitFor('the paused condition', async () => {
        const d = JSON.parse(await c.k('get', 'deploy', 'ghost', '-o', 'json')) as { metadata: { generation: number }; status: { observedGeneration: number; conditions: Array<{ type: string; reason: string }> } };
        return d.status.observedGeneration === d.metadata.generation && d.status.conditions.some((x) => x.type === 'Progressing' && x.reason === 'DeploymentPaused');
      });
      assert.equal((await replicaSetNames(c)).length, 2, 'no new ReplicaSet while paused');
      // Scaling still works while paused.
      await c.k('scale', 'deployment', 'ghost', '--replicas=4');
      await waitFor('4 pods while paused', async () => (await liveImages(c)).length === 4);
      assert.ok((await liveImages(c)).every((i) => i === 'ghost:0.7.7'));
      await c.k('scale', 'deployment', 'ghost', '--replicas=5');
      assert.match(await c.k('rollout', 'resume', 'deployment/ghost'), /resumed/);
      await rolloutStatus(c);
      await waitFor('0.7.9 everywhere', async () => {
        const images = await liveImages(c);
        return images.length === 5 && images.every((i) => i === 'ghost:0.7.9');
      });
    });

    await t.test('kubectl get deploy shows 5/5 up to date and available', async () => {
      await waitFor('status to settle', async () => /^ghost\s+5\/5\s+5\s+5\s+/m.test(await c.k('get', 'deploy')));
      const out = await c.k('get', 'deploy');
      assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
      assert.match(out, /^ghost\s+5\/5\s+5\s+5\s+\S+$/m);
    });

    await t.test('kubectl describe deployment tells the story with ScalingReplicaSet events', async () => {
      const out = await c.k('describe', 'deployment', 'ghost');
      assert.match(out, /Replicas:\s+5 desired \| 5 updated \| 5 total \| 5 available \| 0 unavailable/);
      assert.match(out, /Available\s+True\s+MinimumReplicasAvailable/);
      assert.match(out, /Progressing\s+True\s+NewReplicaSetAvailable/);
      assert.match(out, /NewReplicaSet:\s+ghost-\S+ \(5\/5 replicas created\)/);
      assert.match(out, /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set ghost-\S+ from 0 to 1/);
      assert.match(out, /Scaled down replica set ghost-\S+ from \d+ to \d+/);
      const rs = await c.k('describe', 'rs', (await c.k('get', 'rs', '-l', 'app=ghost', '-o', 'jsonpath={.items[0].metadata.name}')).trim());
      assert.match(rs, /SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: ghost-/);
    });
  } finally {
    client.close();
    await kubelet.stop();
    await c.stop();
  }
});
