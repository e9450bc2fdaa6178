import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { PodSim, PodWatch, type PodEvent } from '../helpers/podsim.js';

// StatefulSets against a real `kite server` with simulated nodes: ordered creation and deletion observed
// through a watch, stable identities and claims, rolling updates from the highest ordinal, partitions, and
// the Parallel policy.

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

const WEB = `
apiVersion: v1
kind: Service
metadata: { name: nginx }
spec: { clusterIP: None, selector: { app: web }, ports: [ { port: 80 } ] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web }
spec:
  serviceName: nginx
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [ { name: nginx, image: "nginx:1" } ]
  volumeClaimTemplates:
  - metadata: { name: www }
    spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`;

/** The order in which pods started being deleted (first MODIFIED with a deletion timestamp, or DELETED). */
function deletionOrder(events: PodEvent[], from = 0): string[] {
  const out: string[] = [];
  for (const e of events.slice(from)) if ((e.deleting || e.type === 'DELETED') && !out.includes(e.name)) out.push(e.name);
  return out;
}

async function ready(c: Cluster, name: string, n: number): Promise<StatefulSet> {
  return waitFor(
    `${name} to have ${n} ready replicas`,
    async () => {
      const s = await getJson<StatefulSet>(c, 'sts', name);
      return s.status?.readyReplicas === n && s.status.replicas === n && s.status.observedGeneration === s.metadata?.generation ? s : undefined;
    },
    60_000,
  );
}

test('StatefulSet: ordered identities, claims, scale down in reverse, rolling update and partition', async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const sim = await PodSim.start({ kubeconfig: c.kubeconfig, nodes: ['n1', 'n2', 'n3'] });
  const watch = await PodWatch.start(c.kubeconfig, 'default', 'app=web');
  try {
    await t.test('web-0, web-1, web-2 are created in order, each once its predecessor is ready', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: WEB });
      await ready(c, 'web', 3);
      const added = watch.events.filter((e) => e.type === 'ADDED').map((e) => e.name);
      assert.deepEqual(added, ['web-0', 'web-1', 'web-2']);
      watch.replay((pods, ev) => {
        if (ev.type !== 'ADDED') return;
        const ord = Number(ev.name.slice('web-'.length));
        for (let i = 0; i < ord; i++) {
          const prev = pods.get(`web-${i}`);
          assert.ok(prev?.ready && prev.phase === 'Running', `web-${i} was Running and Ready when ${ev.name} was created`);
        }
      });
      const out = await c.k('get', 'sts');
      assert.match(out, /^NAME\s+READY\s+AGE\n/);
      assert.match(out, /\nweb\s+3\/3\s+\d+s\n/);
      const pods = (await getJson<{ items: Pod[] }>(c, 'pods', '-l', 'app=web')).items;
      const set = await getJson<StatefulSet>(c, 'sts', 'web');
      for (const p of pods) {
        const ord = p.metadata!.name!.slice('web-'.length);
        assert.equal(p.spec?.hostname, p.metadata?.name);
        assert.equal(p.spec?.subdomain, 'nginx');
        assert.equal(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], p.metadata?.name);
        assert.equal(p.metadata?.labels?.['apps.kubernetes.io/pod-index'], ord);
        assert.equal(p.metadata?.labels?.['controller-revision-hash'], set.status?.updateRevision);
        assert.deepEqual(
          p.spec?.volumes?.find((v) => v.name === 'www'),
          { name: 'www', persistentVolumeClaim: { claimName: `www-web-${ord}` } },
        );
      }
      const claims = (await getJson<{ items: PersistentVolumeClaim[] }>(c, 'pvc')).items;
      assert.deepEqual(claims.map((x) => x.metadata?.name).sort(), ['www-web-0', 'www-web-1', 'www-web-2']);
      assert.ok(claims.every((x) => x.metadata?.labels?.app === 'web' && !x.metadata?.ownerReferences?.length));
      assert.equal(set.status?.currentRevision, set.status?.updateRevision);
      assert.deepEqual([set.status?.replicas, set.status?.readyReplicas, set.status?.currentReplicas, set.status?.updatedReplicas, set.status?.availableReplicas], [3, 3, 3, 3, 3]);
    });

    await t.test('scaling down deletes web-2 then web-1, and keeps their claims', async () => {
      const from = watch.events.length;
      await c.k('scale', 'sts', 'web', '--replicas=1');
      await ready(c, 'web', 1);
      await waitFor('web-1 and web-2 to be gone', async () => (await getJson<{ items: Pod[] }>(c, 'pods', '-l', 'app=web')).items.length === 1);
      assert.deepEqual(deletionOrder(watch.events, from), ['web-2', 'web-1']);
      // web-1's deletion began only after web-2 was gone.
      const goneAt = watch.events.findIndex((e, i) => i >= from && e.type === 'DELETED' && e.name === 'web-2');
      const startedAt = watch.events.findIndex((e, i) => i >= from && e.name === 'web-1' && (e.deleting || e.type === 'DELETED'));
      assert.ok(goneAt >= 0 && startedAt > goneAt, `web-2 deleted (${goneAt}) before web-1 started going (${startedAt})`);
      assert.equal((await getJson<{ items: PersistentVolumeClaim[] }>(c, 'pvc')).items.length, 3);
      await c.k('scale', 'sts', 'web', '--replicas=3');
      await ready(c, 'web', 3);
    });

    await t.test('a rolling update replaces pods from the highest ordinal down', async () => {
      const from = watch.events.length;
      await c.k('set', 'image', 'sts/web', 'nginx=nginx:2');
      await c.k('rollout', 'status', 'sts/web', '--timeout=90s');
      const set = await waitFor('the update to complete', async () => {
        const s = await getJson<StatefulSet>(c, 'sts', 'web');
        return s.status?.updatedReplicas === 3 && s.status.currentRevision === s.status.updateRevision && s.status.readyReplicas === 3 ? s : undefined;
      });
      assert.deepEqual(deletionOrder(watch.events, from), ['web-2', 'web-1', 'web-0']);
      const pods = (await getJson<{ items: Pod[] }>(c, 'pods', '-l', 'app=web')).items;
      assert.ok(pods.every((p) => p.spec?.containers[0]?.image === 'nginx:2' && p.metadata?.labels?.['controller-revision-hash'] === set.status?.updateRevision));
      const revs = (await getJson<{ items: ControllerRevision[] }>(c, 'controllerrevisions')).items.filter((r) => r.metadata?.name?.startsWith('web-'));
      assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
    });

    await t.test('a partition updates only the ordinals at or above it', async () => {
      await c.k('patch', 'sts', 'web', '--type=merge', '-p', '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:3"}]}}}}');
      const set = await waitFor('web-2 on the new revision', async () => {
        const s = await getJson<StatefulSet>(c, 'sts', 'web');
        return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 && s.status.observedGeneration === s.metadata?.generation ? s : undefined;
      });
      const images = Object.fromEntries((await getJson<{ items: Pod[] }>(c, 'pods', '-l', 'app=web')).items.map((p) => [p.metadata?.name, p.spec?.containers[0]?.image]));
      assert.deepEqual(images, { 'web-0': 'nginx:2', 'web-1': 'nginx:2', 'web-2': 'nginx:3' });
      assert.notEqual(set.status?.currentRevision, set.status?.updateRevision);
      assert.equal(set.status?.currentReplicas, 2);
    });

    await t.test('the Parallel policy creates every pod without waiting for readiness', async () => {
      await c.kubectl(['apply', '-f', '-'], {
        input: `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: par }
spec:
  serviceName: par
  replicas: 3
  podManagementPolicy: Parallel
  selector: { matchLabels: { app: par } }
  template:
    metadata: { labels: { app: par } }
    spec:
      containers: [ { name: c, image: "sim/unready" } ]
`,
      });
      await waitFor('three pods that never become ready', async () => {
        const pods = (await getJson<{ items: Pod[] }>(c, 'pods', '-l', 'app=par')).items;
        return pods.length === 3 && pods.every((p) => p.status?.phase === 'Running');
      });
      const s = await getJson<StatefulSet>(c, 'sts', 'par');
      assert.equal(s.status?.readyReplicas ?? 0, 0);
      assert.match(await c.k('get', 'sts', 'par'), /par\s+0\/3/);
    });

    await t.test('whenScaled: Delete hands a removed ordinal\'s claim to its pod, and it goes with it', async () => {
      await c.kubectl(['apply', '-f', '-'], {
        input: `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: ret }
spec:
  serviceName: ret
  replicas: 2
  persistentVolumeClaimRetentionPolicy: { whenScaled: Delete, whenDeleted: Retain }
  selector: { matchLabels: { app: ret } }
  template:
    metadata: { labels: { app: ret } }
    spec:
      containers: [ { name: c, image: "app:1" } ]
  volumeClaimTemplates:
  - metadata: { name: data }
    spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`,
      });
      await ready(c, 'ret', 2);
      await c.k('scale', 'sts', 'ret', '--replicas=1');
      await waitFor('the claim of ret-1 to be deleted with its pod', async () => {
        const names = (await getJson<{ items: PersistentVolumeClaim[] }>(c, 'pvc', '-l', 'app=ret')).items.map((x) => x.metadata?.name);
        return names.join() === 'data-ret-0';
      }, 30_000);
    });

    assert.deepEqual(sim.errors, []);
  } finally {
    watch.stop();
    await sim.stop();
    await c.stop();
  }
});
