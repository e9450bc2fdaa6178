import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { StatusError } from '../../src/api/errors.js';
import type { RestClient } from '../../src/client/rest.js';
import type { EventRecorder } from '../../src/client/events.js';
import { DeploymentSync } from '../../src/controllers/workloads/rollout.js';
import { REVISION } from '../../src/controllers/workloads/deploymentutil.js';
import type { Deployment, ReplicaSet } from '../../src/controllers/workloads/types.js';

// DeploymentSync against an in-memory API and a toy ReplicaSet controller whose new pods become available
// one tick after they are created: every step of a rollout is checked against the surge and availability
// bounds, and scaling in the middle of a rollout is spread proportionally.

interface SimPod {
  ready: boolean;
}

class World {
  d: Deployment;
  readonly sets = new Map<string, ReplicaSet>();
  readonly pods = new Map<string, SimPod[]>();
  readonly events: string[] = [];
  private rv = 1;
  private clock = 0;

  constructor(replicas: number, strategy: Deployment['spec']['strategy'] = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }) {
    this.d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1, resourceVersion: String(this.rv++) },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'v1' }] } },
        strategy,
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 10,
      },
      status: {},
    };
  }

  private bump(o: KubeObject): void {
    o.metadata.resourceVersion = String(this.rv++);
  }

  /** The slice of RestClient that DeploymentSync uses. */
  client(): RestClient {
    const fake = {
      create: async (_info: unknown, _ns: string, obj: KubeObject) => {
        const rs = structuredClone(obj) as ReplicaSet;
        if (this.sets.has(rs.metadata.name!)) throw new StatusError(409, 'AlreadyExists', 'exists');
        rs.metadata.uid = `uid-${rs.metadata.name}`;
        rs.metadata.creationTimestamp = new Date(Date.UTC(2024, 0, 1, 0, 0, this.clock++)).toISOString();
        rs.metadata.generation = 1;
        rs.status = { replicas: 0, observedGeneration: 1 };
        this.bump(rs);
        this.sets.set(rs.metadata.name!, rs);
        this.pods.set(rs.metadata.name!, []);
        return structuredClone(rs);
      },
      get: async (_info: unknown, _ns: string, name: string) => structuredClone(this.sets.get(name)),
      update: async (_info: unknown, obj: KubeObject) => {
        const cur = this.sets.get(obj.metadata.name!)!;
        if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new StatusError(409, 'Conflict', 'modified');
        const next = structuredClone(obj) as ReplicaSet;
        next.status = cur.status;
        this.bump(next);
        this.sets.set(next.metadata.name!, next);
        return structuredClone(next);
      },
      updateStatus: async (_info: unknown, obj: KubeObject) => {
        if (this.d.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new StatusError(409, 'Conflict', 'modified');
        this.d.status = structuredClone((obj as Deployment).status);
        this.bump(this.d);
        return structuredClone(this.d);
      },
      patch: async (_info: unknown, _ns: string, _name: string, _type: string, p: { metadata: { annotations: Record<string, string> } }) => {
        this.d.metadata.annotations = { ...(this.d.metadata.annotations ?? {}), ...p.metadata.annotations };
        this.bump(this.d);
        return structuredClone(this.d);
      },
      delete: async (_info: unknown, _ns: string, name: string) => {
        this.sets.delete(name);
        return {};
      },
    };
    return fake as unknown as RestClient;
  }

  async syncDeployment(): Promise<void> {
    const recorder = { event: (_o: KubeObject, _t: string, reason: string, msg: string) => this.events.push(`${reason}: ${msg}`) } as unknown as EventRecorder;
    const sync = new DeploymentSync(structuredClone(this.d), { client: this.client(), recorder, podsOf: () => [], requeueAfter: () => undefined, wrote: () => undefined });
    await sync.run([...this.sets.values()].map((rs) => structuredClone(rs)));
  }

  /** The ReplicaSet controller: pods from the last tick become ready, then counts follow spec. */
  tickReplicaSets(): void {
    for (const [name, rs] of this.sets) {
      const pods = this.pods.get(name)!;
      for (const p of pods) p.ready = true;
      const want = rs.spec.replicas ?? 0;
      while (pods.length < want) pods.push({ ready: false });
      // Surplus: not-ready pods go first.
      pods.sort((a, b) => Number(a.ready) - Number(b.ready));
      pods.splice(0, Math.max(0, pods.length - want));
      const ready = pods.filter((p) => p.ready).length;
      rs.status = { replicas: pods.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
    }
  }

  totals(): { pods: number; available: number } {
    let pods = 0;
    let available = 0;
    for (const ps of this.pods.values()) {
      pods += ps.length;
      available += ps.filter((p) => p.ready).length;
    }
    return { pods, available };
  }

  setImage(image: string): void {
    (this.d.spec.template!.spec!.containers as Array<{ image: string }>)[0].image = image;
    this.d.metadata.generation! += 1;
  }

  complete(): boolean {
    const s = this.d.status ?? {};
    const r = this.d.spec.replicas ?? 1;
    return s.updatedReplicas === r && s.replicas === r && s.availableReplicas === r && s.observedGeneration === this.d.metadata.generation;
  }

  /** Alternate deployment syncs and ReplicaSet ticks until the rollout completes; `each` checks every tick. */
  async settle(each: (w: World) => void = () => undefined, maxTicks = 200): Promise<number> {
    for (let tick = 0; tick < maxTicks; tick++) {
      await this.syncDeployment();
      this.tickReplicaSets();
      each(this);
      await this.syncDeployment();
      if (this.complete() && [...this.sets.values()].every((rs) => rs.status?.replicas === rs.spec.replicas)) return tick;
    }
    throw new Error(`no convergence: ${JSON.stringify(this.d.status)}`);
  }
}

test('a rolling update stays within maxSurge and maxUnavailable at every step', async () => {
  for (const [replicas, surge, unavailable] of [
    [5, '25%', '25%'],
    [10, 3, 0],
    [10, 0, 2],
    [7, '50%', '10%'],
    [1, 0, 1],
  ] as const) {
    const w = new World(replicas, { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } });
    await w.settle();
    w.setImage('v2');
    const maxSurge = typeof surge === 'number' ? surge : Math.ceil((Number.parseInt(surge, 10) * replicas) / 100);
    let maxUnavailable = typeof unavailable === 'number' ? unavailable : Math.floor((Number.parseInt(unavailable, 10) * replicas) / 100);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    await w.settle((x) => {
      const t = x.totals();
      assert.ok(t.pods <= replicas + maxSurge, `${replicas}/${surge}/${unavailable}: ${t.pods} pods`);
      assert.ok(t.available >= replicas - maxUnavailable, `${replicas}/${surge}/${unavailable}: ${t.available} available`);
    });
    const sets = [...w.sets.values()];
    assert.equal(sets.length, 2);
    const fresh = sets.find((rs) => rs.metadata.annotations?.[REVISION] === '2')!;
    assert.equal(fresh.spec.replicas, replicas);
    assert.equal(w.d.metadata.annotations?.[REVISION], '2');
    const progressing = w.d.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'NewReplicaSetAvailable');
    assert.equal(progressing?.message, `ReplicaSet "${fresh.metadata.name}" has successfully progressed.`);
  }
});

test('events of a rollout read as the deployment controller writes them', async () => {
  const w = new World(3);
  await w.settle();
  assert.match(w.events[0], /^ScalingReplicaSet: Scaled up replica set web-\w+ from 0 to 3$/);
  w.setImage('v2');
  await w.settle();
  assert.ok(w.events.some((e) => /^ScalingReplicaSet: Scaled down replica set web-\w+ from 3 to 2$/.test(e)), w.events.join('\n'));
});

test('Recreate scales the old ReplicaSet to zero before the new one starts', async () => {
  const w = new World(4, { type: 'Recreate' });
  await w.settle();
  w.setImage('v2');
  await w.settle((x) => {
    const live = [...x.sets.values()].filter((rs) => (rs.status?.replicas ?? 0) > 0);
    assert.ok(live.length <= 1, 'never two ReplicaSets with pods');
  });
});

test('scaling in the middle of a rollout is spread proportionally', async () => {
  const w = new World(10, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } });
  await w.settle();
  w.setImage('v2');
  await w.syncDeployment();
  w.tickReplicaSets();
  await w.syncDeployment();
  const before = [...w.sets.values()].map((rs) => rs.spec.replicas ?? 0);
  assert.equal(before.reduce((a, b) => a + b, 0), 13, 'mid-rollout at full surge');
  assert.ok(before.every((n) => n > 0), `both sets active: ${before}`);
  w.d.spec.replicas = 20;
  w.d.metadata.generation! += 1;
  await w.syncDeployment();
  const after = [...w.sets.values()].map((rs) => rs.spec.replicas ?? 0);
  assert.equal(after.reduce((a, b) => a + b, 0), 23, 'new total is replicas + maxSurge');
  for (let i = 0; i < before.length; i++) {
    // Each keeps its share of 13, scaled to 23 (rounded).
    assert.ok(Math.abs(after[i] - (before[i] * 23) / 13) <= 1, `proportional: ${before} -> ${after}`);
  }
  await w.settle();
  assert.equal([...w.sets.values()].find((rs) => rs.metadata.annotations?.[REVISION] === '2')?.spec.replicas, 20);
});

test('a paused Deployment scales but does not roll out', async () => {
  const w = new World(3);
  await w.settle();
  w.d.spec.paused = true;
  w.setImage('v2');
  await w.syncDeployment();
  assert.equal(w.sets.size, 1);
  assert.equal(w.d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'DeploymentPaused');
  w.d.spec.replicas = 5;
  w.d.metadata.generation! += 1;
  await w.syncDeployment();
  assert.equal([...w.sets.values()][0].spec.replicas, 5);
  w.d.spec.paused = false;
  w.d.metadata.generation! += 1;
  await w.syncDeployment();
  assert.equal(w.sets.size, 2);
  await w.settle();
});
